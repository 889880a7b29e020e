using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MmCluster.Collectives;
using MmCluster.Collectives.Ring;

namespace MmCluster.Cli.Commands;

/// <summary>
/// What one child process of <c>mmcluster bench collectives</c> does. A rank: host a collective server on loopback, print
/// <c>ADDR address</c>, read <c>PEERS a0,a1,...</c> from stdin, then time every operation and size and print
/// <c>TIME op MiB t1,t2,... cpu</c> (ms per iteration, each after a barrier; CPU ms per iteration), <c>LANES summary</c>
/// (how its inbound lanes carried payloads) and <c>DONE</c>, then wait for stdin to close before leaving. A TCP sender: connect to the
/// parent and send the buffer each time the parent asks (one byte), the raw loopback reference.
/// </summary>
internal static class CollectivesBenchRank
{
    public sealed record Settings(int Rank, int World, double[] SizesMiB, int Iters, int Warmup, string RunId, string Token, int ChunkKiB, int Streams,
        string Transport = "grpc", string[]? Ops = null, bool ReferenceClient = false);

    /// <summary>
    /// The transports the bench can ask for: inline gRPC payloads, same-host shared-memory rings, or bulk TCP lanes (both
    /// negotiated over gRPC).
    /// </summary>
    public static readonly string[] Transports = ["grpc", "shm", "tcp"];

    public static async Task<int> RunRankAsync(Settings settings, CancellationToken ct)
    {
        await using var server = await CollectiveServer.StartAsync(new CollectiveServerOptions
        {
            BearerToken = settings.Token,
            Transport = settings.Transport switch
            {
                "shm" => CollectiveTransport.Auto,
                "tcp" => CollectiveTransport.Tcp,
                _ => CollectiveTransport.Grpc,
            },
            ReferenceClient = settings.ReferenceClient,
        }, ct);
        Console.Out.WriteLine($"ADDR {server.Address}");
        Console.Out.Flush();
        var line = await Console.In.ReadLineAsync(ct) ?? throw new InvalidOperationException("stdin closed before the PEERS line");
        if (!line.StartsWith("PEERS ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"expected 'PEERS a0,a1,...' on stdin, got '{line}'");
        }
        var options = server.GroupOptions(settings.RunId, 1, settings.Rank, line["PEERS ".Length..].Split(',')) with
        {
            OperationDeadline = TimeSpan.FromSeconds(60),
            ChunkBytes = settings.ChunkKiB << 10,
            StreamsPerEdge = settings.Streams,
        };
        await using var group = GrpcCollectiveGroup.Create(options, server);
        await group.BarrierAsync(ct);
        foreach (var mib in settings.SizesMiB)
        {
            var floats = (int)(mib * (1 << 20) / sizeof(float));
            foreach (var op in settings.Ops ?? CollectivesBenchResult.Ops)
            {
                var run = Prepare(group, op, floats);
                var times = new List<double>();
                var cpu = TimeSpan.Zero;
                for (var i = 0; i < settings.Warmup + settings.Iters; i++)
                {
                    await group.BarrierAsync(ct);
                    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                    var clock = Stopwatch.StartNew();
                    await run(ct);
                    if (i >= settings.Warmup)
                    {
                        times.Add(clock.Elapsed.TotalMilliseconds);
                        cpu += Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
                    }
                }
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TIME {op} {mib} {string.Join(',', times.Select(t => t.ToString("R", CultureInfo.InvariantCulture)))} {cpu.TotalMilliseconds / settings.Iters}"));
                Console.Out.Flush();
            }
        }
        await group.BarrierAsync(ct);
        // What the lanes really did: "shm", "tcp" or "grpc" when all agree, else "mixed"; then the lanes themselves, for the log.
        var kinds = group.Lanes.Select(lane => lane.Kind).Distinct().ToList();
        Console.Out.WriteLine($"LANES {(kinds.Count == 1 ? kinds[0] : "mixed")} {group.TransportSummary}");
        Console.Out.WriteLine("DONE");
        Console.Out.Flush();
        // Leave only when every rank is done: a rank that exits at once tears down its server, and with it the last
        // chunk of the final barrier a slower neighbour may still be reading. The parent closes stdin when all said DONE.
        await Console.In.ReadLineAsync(ct);
        return 0;
    }

    /// <summary>Sends <paramref name="bytes"/> to 127.0.0.1:<paramref name="port"/> each time the receiver sends one byte, until it closes.</summary>
    public static async Task<int> RunTcpSenderAsync(int port, long bytes, CancellationToken ct)
    {
        using var client = new TcpClient { NoDelay = true, SendBufferSize = 4 << 20 };
        await client.ConnectAsync(IPAddress.Loopback, port, ct);
        var stream = client.GetStream();
        var buffer = new byte[4 << 20];
        Random.Shared.NextBytes(buffer);
        var go = new byte[1];
        while (await stream.ReadAsync(go, ct) == 1)
        {
            await WriteBytesAsync(stream, buffer, bytes, ct);
        }
        return 0;
    }

    /// <summary>
    /// The child end of the full-duplex raw TCP reference: connects to 127.0.0.1:<paramref name="port"/>; each time the
    /// parent's <paramref name="bytes"/> start arriving, sends as many back while it reads the rest, until the parent closes.
    /// </summary>
    public static async Task<int> RunTcpDuplexPeerAsync(int port, long bytes, CancellationToken ct)
    {
        using var client = new TcpClient { NoDelay = true, SendBufferSize = 4 << 20, ReceiveBufferSize = 4 << 20 };
        await client.ConnectAsync(IPAddress.Loopback, port, ct);
        var stream = client.GetStream();
        var outgoing = new byte[4 << 20];
        Random.Shared.NextBytes(outgoing);
        var incoming = new byte[4 << 20];
        while (true)
        {
            var first = await stream.ReadAsync(incoming.AsMemory(0, (int)Math.Min(incoming.Length, bytes)), ct);
            if (first == 0)
            {
                return 0;
            }
            var sending = WriteBytesAsync(stream, outgoing, bytes, ct);
            await ReadBytesAsync(stream, incoming, bytes - first, ct);
            await sending;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> bytes of <paramref name="buffer"/>'s contents, a buffer at a time.</summary>
    public static async Task WriteBytesAsync(NetworkStream stream, byte[] buffer, long bytes, CancellationToken ct)
    {
        for (var sent = 0L; sent < bytes; sent += buffer.Length)
        {
            await stream.WriteAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, bytes - sent)), ct);
        }
    }

    /// <summary>Reads exactly <paramref name="bytes"/> bytes (into <paramref name="buffer"/>, over and over).</summary>
    public static async Task ReadBytesAsync(NetworkStream stream, byte[] buffer, long bytes, CancellationToken ct)
    {
        for (var received = 0L; received < bytes;)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, bytes - received)), ct);
            received += n > 0 ? n : throw new IOException("the TCP peer closed early");
        }
    }

    /// <summary>Allocates the buffers of one operation on S = <paramref name="floats"/> floats (nccl-tests sizes) and returns its call.</summary>
    private static Func<CancellationToken, Task> Prepare(ICollectiveGroup group, string op, int floats)
    {
        var world = group.WorldSize;
        var random = new Random(group.Rank);
        float[] Filled(int n)
        {
            var data = new float[n];
            for (var i = 0; i < n; i++)
            {
                data[i] = (float)random.NextDouble();
            }
            return data;
        }

        // "<op>-bf16" is the same operation with its payloads on the bf16 wire.
        var wire = op.EndsWith("-bf16", StringComparison.Ordinal) ? WirePrecision.BFloat16 : WirePrecision.Float32;
        switch (op)
        {
            case "allgather" or "allgather-bf16":
            {
                var local = Filled(floats / world);
                var output = new float[local.Length * world];
                return ct => group.AllGatherAsync(local, output, wire, ct);
            }
            case "reducescatter":
            {
                var input = Filled(floats);
                var output = new float[BlockPartition.Count(floats, world, group.Rank)];
                return ct => group.ReduceScatterAsync(input, output, ct);
            }
            case "allreduce" or "allreduce-bf16":
            {
                var buffer = Filled(floats);
                return ct => group.AllReduceAsync(buffer, ReduceOp.Sum, wire, ct);
            }
            case "broadcast":
            {
                var buffer = Filled(floats);
                return ct => group.BroadcastAsync(buffer, 0, ct);
            }
            default:
                throw new ArgumentException($"unknown collective '{op}'", nameof(op));
        }
    }
}
