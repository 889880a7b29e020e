using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MmCluster.Cli.Bench;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster bench coordinator --workers 1024 [--json]</c>: shard-lease latency (p50/p99), CPU and peak memory of the
/// real coordinator actors holding 1,024 simulated workers on a 400M-row plan; with <c>--failures N</c>, N workers killed
/// one at a time and the time of each recovery (docs/benchmarks.md).
/// </summary>
internal static class BenchCoordinatorCommand
{
    public static Command Create()
    {
        var workers = new Option<int>("--workers") { Description = "Simulated workers", DefaultValueFactory = _ => 1024 };
        var files = new Option<int>("--files") { Description = "Synthetic Parquet files in the plan", DefaultValueFactory = _ => 4000 };
        var groups = new Option<int>("--row-groups-per-file") { Description = "Row groups per file (one shard each)", DefaultValueFactory = _ => 10 };
        var rows = new Option<long>("--rows-per-group") { Description = "Rows per row group", DefaultValueFactory = _ => 10_000 };
        var shardMs = new Option<double>("--shard-ms") { Description = "Time a simulated worker spends on a shard", DefaultValueFactory = _ => 1000 };
        var seconds = new Option<double>("--seconds") { Description = "Measured window", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var failures = new Option<int>("--failures") { Description = "Workers to kill, one at a time, each followed by a recovery (0: measure leases only)" };
        var shards = new Option<int?>("--shards") { Description = "Shards in the plan (sets --files to shards / row groups per file)" };
        var stepMs = new Option<double>("--step-ms") { Description = "With --failures: time a simulated step takes", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { Description = "With --failures: rows per worker per step", DefaultValueFactory = _ => 256 };
        var gap = new Option<double>("--gap-seconds") { Description = "With --failures: mean time between a recovery and the next kill (uniform, 0.5-1.5x)", DefaultValueFactory = _ => 2 };
        var seed = new Option<int>("--seed") { Description = "With --failures: seeds the kill times and victims", DefaultValueFactory = _ => 1 };
        var command = new Command("coordinator", "Coordinator actors against simulated workers: shard-lease latency, CPU, peak memory; recoveries with --failures.")
        {
            workers, files, groups, rows, shardMs, seconds, json, failures, shards, stepMs, batch, gap, seed,
        };
        command.SetAction(async (result, ct) =>
        {
            var asJson = result.GetValue(json);
            var fileCount = result.GetValue(shards) is { } shardCount
                ? (shardCount + result.GetValue(groups) - 1) / result.GetValue(groups)
                : result.GetValue(files);
            if (result.GetValue(failures) > 0)
            {
                var options = new RecoveryBenchOptions(result.GetValue(workers), result.GetValue(failures), fileCount, result.GetValue(groups), result.GetValue(rows),
                    TimeSpan.FromMilliseconds(result.GetValue(stepMs)), result.GetValue(batch), TimeSpan.FromSeconds(result.GetValue(gap)), result.GetValue(seed));
                var recovered = await RecoveryBench.RunAsync(options, asJson ? TextWriter.Null : Console.Out, ct);
                Console.WriteLine(asJson ? JsonSerializer.Serialize(recovered, JsonOptions) : RecoveryText(recovered));
                return recovered.LedgerMismatches == 0 && recovered.DuplicateRows == 0 ? 0 : 1;
            }
            var r = await CoordinatorBench.RunAsync(result.GetValue(workers), fileCount, result.GetValue(groups), result.GetValue(rows),
                TimeSpan.FromMilliseconds(result.GetValue(shardMs)), TimeSpan.FromSeconds(result.GetValue(seconds)), asJson ? TextWriter.Null : Console.Out, ct);
            Console.WriteLine(asJson
                ? JsonSerializer.Serialize(r, JsonOptions)
                : string.Create(CultureInfo.InvariantCulture, $"""
                    rendezvous of {r.Workers} workers: {r.RendezvousSeconds:0.00} s
                    shard leases: {r.Leases} in {r.MeasuredSeconds:0.0} s ({r.LeasesPerSecond:0}/s), latency p50 {r.LeaseP50Ms:0.000} ms, p99 {r.LeaseP99Ms:0.000} ms, max {r.LeaseMaxMs:0.0} ms
                    CPU (whole process, simulated workers included): {r.CpuSeconds:0.0} s = {r.CpuCores:0.00} cores
                    peak working set: {r.PeakWorkingSetBytes / 1048576.0:0} MB; managed heap: {r.ManagedHeapBytes / 1048576.0:0} MB
                    """));
            return 0;
        });
        return command;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static string RecoveryText(RecoveryBenchResult r)
    {
        static string Ms(Percentiles p) => string.Create(CultureInfo.InvariantCulture, $"p50 {p.P50:0} ms, p99 {p.P99:0} ms, max {p.Max:0} ms");
        static double Mb(long bytes) => bytes / 1048576.0;
        return string.Create(CultureInfo.InvariantCulture, $"""
            rendezvous of {r.Workers} workers: {r.RendezvousSeconds:0.00} s
            recoveries: {r.Recoveries} of {r.Failures} failures
              loss to the next StartGeneration at every worker: {Ms(r.LossToStartMs)}
              RunActor, Terminated to every abort confirmed ({r.Workers - 1} survivors): {Ms(r.AbortMs)}
              RunActor, Terminated to the next generation sent: {Ms(r.ReformMs)}
              RecoverLedger round trip ({r.Shards} shards): {Ms(r.LedgerMs)}
            memory: managed heap {Mb(r.HeapBytesBefore):0} MB before the first failure, {Mb(r.HeapBytesAfter):0} MB after the last; working set {Mb(r.WorkingSetBytesBefore):0} -> {Mb(r.WorkingSetBytesAfter):0} MB (peak {Mb(r.PeakWorkingSetBytes):0} MB)
            ledger vs the rows the kept steps trained: {r.RowsTrained:N0} rows trained, {r.DuplicateRows} trained twice; ledger committed {r.LedgerRowsCommitted:N0}, {r.LedgerDuplicates} duplicates, {r.LedgerMismatches} shards differ{(r.Mismatches.Count > 0 ? ": " + string.Join("; ", r.Mismatches) : "")}
            StartGeneration to one worker at {r.Workers} workers: {r.StartGenerationBytes:N0} bytes; {(long)r.StartGenerationBytes * r.Workers / 1048576.0:0.0} MB per generation
            """);
    }
}
