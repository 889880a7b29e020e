using System.Globalization;

namespace MmCluster.Cli.Commands;

/// <summary>
/// One row of <c>mmcluster bench collectives</c>: the median time of an operation on a buffer of <see cref="MiB"/> (the full
/// buffer S, as nccl-tests counts it), algbw = S / t and busbw = algbw × the nccl-tests factor of the operation, and the CPU
/// time all ranks together spent per operation (the machine is shared: CPU per byte is steadier than wall time).
/// </summary>
/// <param name="Transport">How the ranks' payloads travelled: "grpc" (inline in the HTTP/2 stream), "shm" (same-host rings
/// negotiated over gRPC), or the lanes' own description when they were mixed; null for the raw TCP reference.</param>
internal sealed record CollectivesBenchResult(string Op, int World, double MiB, double TimeMs, int Iters, double? CpuMs = null, string? Transport = null)
{
    public const string Tcp = "tcp";

    /// <summary>Raw TCP both ways at once between two processes (the traffic of a W = 2 all-gather).</summary>
    public const string TcpDuplex = "tcp-duplex";

    /// <summary>The operations timed by default, in the order they run, as named in the output.</summary>
    public static readonly string[] Ops = ["allgather", "reducescatter", "allreduce", "broadcast"];

    /// <summary>
    /// Every operation <c>--ops</c> accepts: the default ones and their bf16-wire variants (<c>WirePrecision.BFloat16</c>:
    /// half the bytes travel; MiB, algbw and busbw still count the float32 buffer the caller holds).
    /// </summary>
    public static readonly string[] KnownOps = [.. Ops, "allgather-bf16", "allreduce-bf16"];

    public double AlgbwGBps => MiB * (1 << 20) / (TimeMs / 1000) / 1e9;

    public double BusbwGBps => AlgbwGBps * BusFactor(Op, World);

    /// <summary>
    /// nccl-tests' PERFORMANCE.md: (W-1)/W for all-gather and reduce-scatter, 2(W-1)/W for all-reduce, 1 for broadcast (and
    /// the one-way TCP reference); 1/2 for the duplex TCP reference, whose busbw is then the rate of each direction.
    /// </summary>
    public static double BusFactor(string op, int world)
    {
        if (op == TcpDuplex)
        {
            return 0.5;
        }
        return op.Split('-')[0] switch
        {
            "allgather" or "reducescatter" => (world - 1) / (double)world,
            "allreduce" => 2.0 * (world - 1) / world,
            _ => 1.0,
        };
    }

    public static string TableHeader()
    {
        return $"{"op",-16}{"transport",-10}{"world",6}{"MiB",8}{"time_ms",11}{"algbw_GBps",12}{"busbw_GBps",12}{"iters",7}{"cpu_ms",10}";
    }

    public string ToTableRow()
    {
        return string.Create(CultureInfo.InvariantCulture, $"{Op,-16}{Transport ?? "-",-10}{World,6}{MiB,8:0.##}{TimeMs,11:0.###}{AlgbwGBps,12:0.###}{BusbwGBps,12:0.###}{Iters,7}{CpuMs,10:0.#}");
    }

    public string ToJson()
    {
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"op\":\"{Op}\",{(Transport is null ? "" : $"\"transport\":\"{JsonText(Transport)}\",")}\"world\":{World},\"MiB\":{MiB:0.###},\"time_ms\":{TimeMs:0.###},\"algbw_GBps\":{AlgbwGBps:0.####},\"busbw_GBps\":{BusbwGBps:0.####},\"iters\":{Iters}{(CpuMs is { } cpu ? $",\"cpu_ms\":{cpu:0.#}" : "")}}}");
    }

    private static string JsonText(string text)
    {
        return System.Text.Json.JsonEncodedText.Encode(text).ToString();
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
