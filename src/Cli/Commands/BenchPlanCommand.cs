using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using MmCluster.Shared.Manifest;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster bench plan --manifest DIR</c>: how long reading every footer and planning an epoch takes, and how much
/// memory it needs (the 400M-row goal: under 30 s and 1 GB). A benchmark, not a test: it reports, it does not judge.
/// </summary>
internal static class BenchPlanCommand
{
    public static Command Create()
    {
        var manifest = new Option<string>("--manifest") { Description = "The manifest folder.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var seed = new Option<long>("--seed") { Description = "Shuffle seed.", DefaultValueFactory = _ => 42 };
        var epoch = new Option<int>("--epoch") { Description = "Epoch to plan.", DefaultValueFactory = _ => 0 };
        var target = new Option<long>("--target-rows-per-shard") { Description = "Merge row groups up to this many rows per shard (0: one row group per shard)." };
        var split = new Option<string?>("--split") { Description = "Plan only files of this split." };
        var command = new Command("plan", "Benchmark footer reading and shard planning of a manifest.") { manifest, json, seed, epoch, target, split };
        command.SetAction((parse, ct) => ManifestCommand.Guard(parse, async () =>
        {
            var result = await RunAsync(parse.GetValue(manifest)!, parse.GetValue(seed), parse.GetValue(epoch),
                new ShardPlanOptions { TargetRowsPerShard = parse.GetValue(target), Split = parse.GetValue(split) }, ct);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
                return;
            }
            output.WriteLine($"manifest          {parse.GetValue(manifest)}");
            output.WriteLine($"files             {result["files"]:N0}");
            output.WriteLine($"row groups        {result["row_groups"]:N0}");
            output.WriteLine($"rows              {result["rows"]:N0}");
            output.WriteLine($"shards            {result["shards"]:N0}");
            output.WriteLine($"footer read       {result["footer_seconds"]:F2} s");
            output.WriteLine($"planning          {result["plan_seconds"]:F3} s (shards + epoch shuffle)");
            output.WriteLine($"total             {result["total_seconds"]:F2} s");
            output.WriteLine($"peak working set  {result["peak_working_set_mb"]:F0} MB (whole process, runtime included)");
            output.WriteLine($"managed heap      {result["managed_heap_after_mb"]:F1} MB after planning (summary + plan live), {result["allocated_mb"]:F0} MB allocated in total");
        }));
        return command;
    }

    private static async Task<Dictionary<string, object>> RunAsync(string folder, long seed, int epoch, ShardPlanOptions options, CancellationToken ct)
    {
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var total = Stopwatch.StartNew();
        var summary = await ParquetManifestReader.InspectAsync(folder, ct);
        var footerSeconds = total.Elapsed.TotalSeconds;
        var planWatch = Stopwatch.StartNew();
        var plan = ShardPlanner.Plan(summary.Files, seed, epoch, options);
        var planSeconds = planWatch.Elapsed.TotalSeconds;
        var totalSeconds = total.Elapsed.TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        GC.Collect();
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var expectedRows = options.Split is null ? summary.Rows : -1;
        if (expectedRows >= 0 && plan.TotalRows != expectedRows)
        {
            throw new InvalidOperationException($"plan covers {plan.TotalRows} rows but the footers hold {expectedRows}");
        }
        GC.KeepAlive(summary);
        GC.KeepAlive(plan);
        return new Dictionary<string, object>
        {
            ["files"] = summary.Files.Count,
            ["row_groups"] = summary.RowGroupCount,
            ["rows"] = summary.Rows,
            ["shards"] = plan.Shards.Count,
            ["planned_rows"] = plan.TotalRows,
            ["footer_seconds"] = footerSeconds,
            ["plan_seconds"] = planSeconds,
            ["total_seconds"] = totalSeconds,
            ["peak_working_set_mb"] = process.PeakWorkingSet64 / 1048576.0,
            ["managed_heap_after_mb"] = heapAfter / 1048576.0,
            ["allocated_mb"] = allocated / 1048576.0,
            ["processors"] = Environment.ProcessorCount,
        };
    }
}
