using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster bench collectives --world W --sizes 1,16,64 [--iters N] [--json]</c>: starts W rank processes of this same
/// program on loopback (hidden subcommand <c>rank</c>), runs every collective over the gRPC ring and prints median time,
/// algbw and busbw per operation and size (nccl-tests definitions), plus a raw TCP loopback line between two processes.
/// </summary>
internal static class BenchCollectivesCommand
{
    public static Command Create()
    {
        var world = new Option<int>("--world") { Description = "Number of rank processes (W >= 2).", DefaultValueFactory = _ => 2 };
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated full-buffer sizes S in MiB.", DefaultValueFactory = _ => "1,16,64" };
        var iters = new Option<int>("--iters") { Description = "Timed iterations per operation and size (median reported).", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "One JSON object per line instead of a table." };
        var chunk = new Option<int>("--chunk-kib") { Description = "Chunk size in KiB.", DefaultValueFactory = _ => 1024 };
        var streams = new Option<int>("--streams") { Description = "Streams (TCP connections) per ring edge.", DefaultValueFactory = _ => 2 };
        var transport = new Option<string>("--transport")
        {
            Description = "Comma-separated transports to time: grpc (payloads inline in the HTTP/2 streams, as between hosts), " +
                "shm (same-host shared-memory rings negotiated over the gRPC streams), tcp (bulk TCP lanes negotiated over the gRPC streams, " +
                "authenticated with the run's token, as between hosts).",
            DefaultValueFactory = _ => "grpc,tcp,shm",
        };
        var ops = new Option<string>("--ops")
        {
            Description = "Comma-separated operations to time: allgather, reducescatter, allreduce, broadcast, and the bf16-wire " +
                "allgather-bf16, allreduce-bf16 (inexact, half the bytes; MiB and GB/s count the float32 buffer).",
            DefaultValueFactory = _ => string.Join(',', CollectivesBenchResult.Ops),
        };
        var command = new Command("collectives", "Time all-gather, reduce-scatter, all-reduce and broadcast over gRPC between W local processes.");
        command.Options.Add(world);
        command.Options.Add(sizes);
        command.Options.Add(iters);
        command.Options.Add(json);
        command.Options.Add(chunk);
        command.Options.Add(streams);
        command.Options.Add(transport);
        command.Options.Add(ops);
        command.Subcommands.Add(CreateRankCommand());
        command.SetAction(async (parse, ct) =>
        {
            var w = parse.GetValue(world);
            var n = parse.GetValue(iters);
            if (w < 2 || n < 1)
            {
                Console.Error.WriteLine($"mmcluster bench collectives: --world must be >= 2 (got {w}) and --iters >= 1 (got {n})");
                return 2;
            }
            var sizeList = ParseSizes(parse.GetValue(sizes)!);
            var transports = parse.GetValue(transport)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (transports.Length == 0 || transports.FirstOrDefault(t => !CollectivesBenchRank.Transports.Contains(t)) is { } unknown)
            {
                Console.Error.WriteLine($"mmcluster bench collectives: --transport takes {string.Join(" and/or ", CollectivesBenchRank.Transports)}, comma-separated");
                return 2;
            }
            var opList = ParseOps(parse.GetValue(ops)!);
            var settings = new CollectivesBenchRank.Settings(0, w, sizeList, n, Math.Min(2, n), $"bench-{Environment.ProcessId}",
                Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), parse.GetValue(chunk), parse.GetValue(streams), Ops: opList);
            var asJson = parse.GetValue(json);
            if (!asJson)
            {
                Console.WriteLine(CollectivesBenchResult.TableHeader());
            }
            void Print(CollectivesBenchResult r)
            {
                Console.WriteLine(asJson ? r.ToJson() : r.ToTableRow());
            }

            Print(await MeasureRawTcpAsync(CollectivesBenchResult.Tcp, sizeList.Max(), duplex: false, settings.Iters, settings.Warmup, ct));
            Print(await MeasureRawTcpAsync(CollectivesBenchResult.TcpDuplex, sizeList.Max(), duplex: true, settings.Iters, settings.Warmup, ct));
            foreach (var name in transports)
            {
                foreach (var result in await RunRanksAsync(settings with { Transport = name }, ct))
                {
                    Print(result);
                }
            }
            return 0;
        });
        return command;
    }

    private static Command CreateRankCommand()
    {
        var rank = new Option<int>("--rank");
        var world = new Option<int>("--world");
        var sizes = new Option<string>("--sizes") { DefaultValueFactory = _ => "1" };
        var iters = new Option<int>("--iters") { DefaultValueFactory = _ => 1 };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 1 };
        var runId = new Option<string>("--run-id") { DefaultValueFactory = _ => "bench" };
        var chunk = new Option<int>("--chunk-kib") { DefaultValueFactory = _ => 1024 };
        var streams = new Option<int>("--streams") { DefaultValueFactory = _ => 2 };
        var transport = new Option<string>("--transport") { DefaultValueFactory = _ => "grpc" };
        var ops = new Option<string>("--ops") { DefaultValueFactory = _ => string.Join(',', CollectivesBenchResult.Ops) };
        var tcpPort = new Option<int>("--tcp-send") { Description = "Be the raw TCP sender to this loopback port instead of a rank." };
        var tcpBytes = new Option<long>("--tcp-bytes");
        var tcpDuplex = new Option<bool>("--tcp-duplex") { Description = "With --tcp-send: send and receive --tcp-bytes at once, each round." };
        var client = CollectiveClientOption.Create();
        var command = new Command("rank", "Internal: one rank process of 'bench collectives' (token on stdin env MMCLUSTER_BENCH_TOKEN).") { Hidden = true };
        foreach (var option in new Option[] { rank, world, sizes, iters, warmup, runId, chunk, streams, transport, ops, tcpPort, tcpBytes, tcpDuplex, client })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(tcpPort) is var port and > 0)
            {
                return parse.GetValue(tcpDuplex)
                    ? await CollectivesBenchRank.RunTcpDuplexPeerAsync(port, parse.GetValue(tcpBytes), ct)
                    : await CollectivesBenchRank.RunTcpSenderAsync(port, parse.GetValue(tcpBytes), ct);
            }
            var token = Environment.GetEnvironmentVariable("MMCLUSTER_BENCH_TOKEN")
                ?? throw new InvalidOperationException("MMCLUSTER_BENCH_TOKEN is not set");
            var settings = new CollectivesBenchRank.Settings(parse.GetValue(rank), parse.GetValue(world), ParseSizes(parse.GetValue(sizes)!),
                parse.GetValue(iters), parse.GetValue(warmup), parse.GetValue(runId)!, token, parse.GetValue(chunk), parse.GetValue(streams),
                parse.GetValue(transport)!, ParseOps(parse.GetValue(ops)!), CollectiveClientOption.IsReference(parse.GetValue(client)!));
            return await CollectivesBenchRank.RunRankAsync(settings, ct);
        });
        return command;
    }

    /// <summary>Starts the W rank processes, wires their addresses, and reduces their per-iteration times to results.</summary>
    private static async Task<List<CollectivesBenchResult>> RunRanksAsync(CollectivesBenchRank.Settings settings, CancellationToken ct)
    {
        var sizes = string.Join(',', settings.SizesMiB.Select(s => s.ToString(CultureInfo.InvariantCulture)));
        var processes = Enumerable.Range(0, settings.World).Select(r => StartSelf(
            ["bench", "collectives", "rank", "--rank", $"{r}", "--world", $"{settings.World}", "--sizes", sizes, "--iters", $"{settings.Iters}",
                "--warmup", $"{settings.Warmup}", "--run-id", $"{settings.RunId}-{settings.Transport}", "--chunk-kib", $"{settings.ChunkKiB}",
                "--streams", $"{settings.Streams}", "--transport", settings.Transport, "--ops", string.Join(',', settings.Ops ?? CollectivesBenchResult.Ops)],
            settings.Token)).ToList();
        try
        {
            var addresses = new string[settings.World];
            for (var r = 0; r < settings.World; r++)
            {
                var line = await ReadLineAsync(processes[r], r, ct);
                addresses[r] = line.StartsWith("ADDR ", StringComparison.Ordinal) ? line[5..] : throw new InvalidOperationException($"rank {r} said '{line}' instead of ADDR");
            }
            foreach (var process in processes)
            {
                await process.StandardInput.WriteLineAsync($"PEERS {string.Join(',', addresses)}");
                await process.StandardInput.FlushAsync(ct);
            }
            // times[(op, MiB)][rank] = per-iteration milliseconds
            var times = new Dictionary<(string Op, double MiB), double[][]>();
            var cpu = new Dictionary<(string Op, double MiB), double>();
            var lanes = new List<string>();
            var kinds = new HashSet<string>();
            for (var r = 0; r < settings.World; r++)
            {
                for (var line = await ReadLineAsync(processes[r], r, ct); line != "DONE"; line = await ReadLineAsync(processes[r], r, ct))
                {
                    if (line.StartsWith("LANES ", StringComparison.Ordinal))
                    {
                        // LANES <shm|tcp|grpc|mixed> <summary>
                        var report = line["LANES ".Length..].Split(' ', 2);
                        kinds.Add(report[0]);
                        lanes.Add($"rank {r}: {(report.Length > 1 ? report[1] : "")}");
                        continue;
                    }
                    var parts = line.Split(' ');
                    var key = (parts[1], double.Parse(parts[2], CultureInfo.InvariantCulture));
                    if (!times.TryGetValue(key, out var perRank))
                    {
                        times[key] = perRank = new double[settings.World][];
                    }
                    perRank[r] = parts[3].Split(',').Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray();
                    cpu[key] = cpu.GetValueOrDefault(key) + double.Parse(parts[4], CultureInfo.InvariantCulture);
                }
            }
            foreach (var process in processes)
            {
                process.StandardInput.Close(); // every rank is done: they may leave now
            }
            // Label by what the lanes really did: "shm" only if every lane of every rank used its ring.
            var transport = kinds.Count == 1 ? kinds.Single() : "mixed";
            if (settings.Transport is "shm" or "tcp" && transport != settings.Transport)
            {
                Console.Error.WriteLine($"bench collectives: {settings.Transport} lanes were asked for, but the lanes say: {string.Join("; ", lanes)}");
            }
            // An iteration lasts as long as its slowest rank; report the median iteration.
            return times.Select(kv => new CollectivesBenchResult(kv.Key.Op, settings.World, kv.Key.MiB,
                CollectivesBenchResult.Median(Enumerable.Range(0, settings.Iters).Select(i => kv.Value.Max(rank => rank[i])).ToArray()), settings.Iters, cpu[kv.Key],
                transport)).ToList();
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
                {
                    process.Kill(entireProcessTree: true);
                }
                process.Dispose();
            }
        }
    }

    /// <summary>
    /// The raw TCP references, between this process and one child peer on loopback (<c>rank --tcp-send</c>); median round
    /// time. One way (<c>tcp</c>): this side asks with one byte and reads the child's S bytes. Duplex (<c>tcp-duplex</c>),
    /// the traffic of a W = 2 all-gather of S: both sides send S/2 while they read the other's S/2; busbw = S/2 / t, the rate
    /// each direction reached (what bare sockets give the pattern in which every rank both sends and receives).
    /// </summary>
    private static async Task<CollectivesBenchResult> MeasureRawTcpAsync(string op, double mib, bool duplex, int iters, int warmup, CancellationToken ct)
    {
        var bytes = (long)(mib * (1 << 20)) / (duplex ? 2 : 1);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        string[] args = ["bench", "collectives", "rank", "--tcp-send", $"{((IPEndPoint)listener.LocalEndpoint).Port}", "--tcp-bytes", $"{bytes}"];
        using var peer = StartSelf(duplex ? [.. args, "--tcp-duplex"] : args, null);
        using var socket = await listener.AcceptTcpClientAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct);
        socket.ReceiveBufferSize = 4 << 20;
        var outgoing = new byte[] { 1 }; // one way: the request byte
        if (duplex)
        {
            socket.NoDelay = true;
            socket.SendBufferSize = 4 << 20;
            outgoing = new byte[4 << 20];
            Random.Shared.NextBytes(outgoing);
        }
        var stream = socket.GetStream();
        var incoming = new byte[4 << 20];
        var times = new List<double>();
        for (var i = 0; i < warmup + iters; i++)
        {
            var clock = Stopwatch.StartNew();
            var sending = CollectivesBenchRank.WriteBytesAsync(stream, outgoing, duplex ? bytes : 1, ct);
            await CollectivesBenchRank.ReadBytesAsync(stream, incoming, bytes, ct);
            await sending;
            if (i >= warmup)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        socket.Close();
        await peer.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
        return new CollectivesBenchResult(op, 2, mib, CollectivesBenchResult.Median(times), iters);
    }

    /// <summary>Starts this same program (apphost or <c>dotnet mmcluster.dll</c>) with stdin/stdout piped and stderr inherited.</summary>
    private static Process StartSelf(string[] args, string? token)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this process's executable");
        var info = new ProcessStartInfo(host) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()?.Location ?? throw new InvalidOperationException("no entry assembly"));
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        if (token is not null)
        {
            info.Environment["MMCLUSTER_BENCH_TOKEN"] = token;
        }
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {host}");
    }

    private static async Task<string> ReadLineAsync(Process process, int rank, CancellationToken ct)
    {
        var line = await process.StandardOutput.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromMinutes(5), ct);
        return line ?? throw new InvalidOperationException($"rank {rank} (pid {process.Id}) exited early with code {(process.WaitForExit(5000) ? process.ExitCode : -1)}");
    }

    private static string[] ParseOps(string text)
    {
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(op =>
            CollectivesBenchResult.KnownOps.Contains(op)
                ? op
                : throw new ArgumentException($"--ops: '{op}' is not one of {string.Join(", ", CollectivesBenchResult.KnownOps)}")).ToArray();
    }

    private static double[] ParseSizes(string text)
    {
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
            double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var mib) && mib > 0
                ? mib
                : throw new ArgumentException($"--sizes: '{s}' is not a positive number of MiB")).ToArray();
    }
}
