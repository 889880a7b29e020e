using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MmCluster.Cli.Bench;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster bench coordinator --workers 1024 [--json]</c>: shard-lease latency (p50/p99), CPU and peak memory of the
/// real coordinator actors holding 1,024 simulated workers on a 400M-row plan (docs/benchmarks.md).
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
        var command = new Command("coordinator", "Coordinator actors against simulated workers: shard-lease latency, CPU, peak memory.")
        {
            workers, files, groups, rows, shardMs, seconds, json,
        };
        command.SetAction(async (result, ct) =>
        {
            var asJson = result.GetValue(json);
            var r = await CoordinatorBench.RunAsync(result.GetValue(workers), result.GetValue(files), result.GetValue(groups), result.GetValue(rows),
                TimeSpan.FromMilliseconds(result.GetValue(shardMs)), TimeSpan.FromSeconds(result.GetValue(seconds)), asJson ? TextWriter.Null : Console.Out, ct);
            Console.WriteLine(asJson
                ? JsonSerializer.Serialize(r, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true })
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
}
