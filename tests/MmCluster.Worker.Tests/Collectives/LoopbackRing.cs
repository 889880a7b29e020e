using MmCluster.Worker.Collectives;
using MmCluster.Worker.Services;

namespace MmCluster.Worker.Tests.Collectives;

/// <summary>W real Kestrel collective servers on 127.0.0.1 in this process, and one gRPC group per rank over them.</summary>
internal sealed class LoopbackRing : IAsyncDisposable
{
    public const string Token = "test-secret";

    private LoopbackRing(CollectiveServer[] servers)
    {
        Servers = servers;
        Groups = new GrpcCollectiveGroup[servers.Length];
    }

    public CollectiveServer[] Servers { get; }

    public GrpcCollectiveGroup[] Groups { get; }

    public int World => Servers.Length;

    public static async Task<LoopbackRing> StartAsync(int world, Func<CollectiveGroupOptions, CollectiveGroupOptions>? customize = null,
        TimeSpan? deadline = null, int chunkBytes = 64 << 10)
    {
        var servers = await Task.WhenAll(Enumerable.Range(0, world).Select(_ => CollectiveServer.StartAsync("127.0.0.1", 0)));
        var ring = new LoopbackRing(servers);
        var addresses = servers.Select(s => s.Address).ToArray();
        for (var r = 0; r < world; r++)
        {
            var options = new CollectiveGroupOptions("run-a", 1, r, addresses, Token)
            {
                OperationDeadline = deadline ?? TimeSpan.FromSeconds(10),
                ChunkBytes = chunkBytes,
            };
            ring.Groups[r] = GrpcCollectiveGroup.Create(customize?.Invoke(options) ?? options, servers[r]);
        }
        return ring;
    }

    /// <summary>Runs <paramref name="op"/> on every rank at once and returns when all are done (or throws the first failure).</summary>
    public Task RunAsync(Func<GrpcCollectiveGroup, Task> op)
    {
        return Task.WhenAll(Groups.Select(g => Task.Run(() => op(g))));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var group in Groups)
        {
            if (group is not null)
            {
                await group.DisposeAsync();
            }
        }
        foreach (var server in Servers)
        {
            await server.DisposeAsync();
        }
    }
}
