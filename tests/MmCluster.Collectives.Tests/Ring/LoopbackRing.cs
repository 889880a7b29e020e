using MmCluster.Collectives.Ring;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>W real Kestrel collective servers on 127.0.0.1 in this process, and one gRPC group per rank over them.</summary>
internal sealed class LoopbackRing : IAsyncDisposable
{
    public const string Token = "test-secret";

    private readonly CollectiveTransport? _transport;

    private LoopbackRing(CollectiveServer[] servers, CollectiveTransport? transport)
    {
        _transport = transport;
        Servers = servers;
        Groups = new GrpcCollectiveGroup[servers.Length];
    }

    public CollectiveServer[] Servers { get; }

    public GrpcCollectiveGroup[] Groups { get; }

    public int World => Servers.Length;

    public static async Task<LoopbackRing> StartAsync(int world, Func<CollectiveGroupOptions, CollectiveGroupOptions>? customize = null,
        TimeSpan? deadline = null, int chunkBytes = 64 << 10, CollectiveTransport? transport = null)
    {
        var servers = await Task.WhenAll(Enumerable.Range(0, world).Select(_ => CollectiveServer.StartAsync(new CollectiveServerOptions { BearerToken = Token })));
        var ring = new LoopbackRing(servers, transport);
        var addresses = servers.Select(s => s.Address).ToArray();
        for (var r = 0; r < world; r++)
        {
            var options = new CollectiveGroupOptions("run-a", 1, r, addresses, Token)
            {
                OperationDeadline = deadline ?? TimeSpan.FromSeconds(10),
                ChunkBytes = chunkBytes,
                Transport = transport ?? CollectiveTransport.Auto,
            };
            ring.Groups[r] = GrpcCollectiveGroup.Create(customize?.Invoke(options) ?? options, servers[r]);
        }
        return ring;
    }

    /// <summary>
    /// Runs <paramref name="op"/> on every rank at once and returns when all are done (or throws the first failure). When the
    /// ring was started with an explicit transport, also checks that every lane that has answered used it (so a spec of the
    /// shared-memory lanes cannot pass on a silent fallback to inline payloads).
    /// </summary>
    public async Task RunAsync(Func<GrpcCollectiveGroup, Task> op)
    {
        await Task.WhenAll(Groups.Select(g => Task.Run(() => op(g))));
        AssertTransport();
    }

    /// <summary>When started with an explicit transport: every lane that has answered used it (no silent fallback to inline payloads).</summary>
    public void AssertTransport()
    {
        if (_transport is { } expected)
        {
            // A broadcast root receives nothing, so it may have no lane yet; every other rank has.
            var lanes = Groups.SelectMany(g => g.Lanes).ToList();
            Assert.True(lanes.Count >= Groups.Length - 1, $"only {lanes.Count} lanes answered: {string.Join("; ", lanes)}");
            var payloads = expected switch
            {
                CollectiveTransport.Auto => LanePayloads.SharedMemory, // same host: the ring wins over the TCP lane
                CollectiveTransport.Tcp => LanePayloads.Tcp,
                _ => LanePayloads.Inline,
            };
            Assert.All(lanes, lane => Assert.True(lane.Payloads == payloads, $"lane {lane} did not use {expected} ({payloads})"));
        }
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
