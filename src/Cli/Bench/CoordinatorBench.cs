using System.Diagnostics;
using Akka.Actor;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;

namespace MmCluster.Cli.Bench;

/// <summary>What <c>bench coordinator</c> measured.</summary>
internal sealed record CoordinatorBenchResult(
    int Workers, int Shards, long Rows, double RendezvousSeconds, double MeasuredSeconds, int Leases, double LeaseP50Ms, double LeaseP99Ms,
    double LeaseMaxMs, double LeasesPerSecond, double CpuSeconds, double CpuCores, long PeakWorkingSetBytes, long ManagedHeapBytes);

/// <summary>
/// The coordinator's control plane at scale, in one process: the real RunActor, ShardLedgerActor and the dashboard's
/// RunProgressFeedActor against <see cref="SimulatedWorkerActor"/>s, over a 400M-row plan built by
/// <see cref="ShardPlanner"/> from synthetic footers (no files). CPU and memory are the whole process's (the simulated
/// workers included), so they bound the coordinator's from above.
/// </summary>
internal static class CoordinatorBench
{
    public static async Task<CoordinatorBenchResult> RunAsync(int workers, int files, int rowGroupsPerFile, long rowsPerGroup, TimeSpan shardTime,
        TimeSpan duration, TextWriter log, CancellationToken ct)
    {
        var shards = BuildShards(files, rowGroupsPerFile, rowsPerGroup);
        var rows = shards.Sum(s => s.RowCount);
        await log.WriteLineAsync($"bench coordinator: {workers} simulated workers, {shards.Count} shards of {rows:N0} rows, {shardTime.TotalMilliseconds:0} ms per shard, measuring {duration.TotalSeconds:0} s");

        using var system = ActorSystem.Create("bench-coordinator", "akka.loglevel = WARNING");
        var ledger = system.ActorOf(ShardLedgerActor.Props(epoch => ShardPlanner.PlanEpoch(shards, 42, epoch)), "shard-ledger");
        var outcome = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = system.ActorOf(RunActor.Props(new RunSettings("bench", workers, new byte[256]), ledger, o => outcome.TrySetResult(o)), "run");
        system.ActorOf(RunProgressFeedActor.Props(run, new RunProgressHub(RunSnapshot.Initial("bench", Spec(workers), workers)), "clip"), "progress-feed");

        var latencies = new LeaseLatencies();
        var started = Stopwatch.StartNew();
        for (var i = 0; i < workers; i++)
        {
            system.ActorOf(SimulatedWorkerActor.Props($"worker-{i}", run, shardTime, latencies), $"worker-{i}");
        }
        while ((await run.Ask<RunStatus>(GetRunStatus.Instance, TimeSpan.FromSeconds(30), ct)).Phase == RunPhase.WaitingForWorkers)
        {
            await Task.Delay(50, ct);
        }
        var rendezvous = started.Elapsed;
        await Task.Delay(shardTime + TimeSpan.FromSeconds(1), ct); // past the first rush of 1,024 simultaneous requests
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var window = Stopwatch.StartNew();
        latencies.Start();
        await Task.Delay(duration, ct);
        var measured = window.Elapsed;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var summary = latencies.Summary();
        if (outcome.Task.IsCompleted)
        {
            var ended = await outcome.Task;
            throw new InvalidOperationException($"the run ended during the benchmark: {ended.Message}");
        }
        await run.Ask<RunStatus>(new AbortRun("benchmark over"), TimeSpan.FromSeconds(30), ct);
        return new CoordinatorBenchResult(workers, shards.Count, rows, rendezvous.TotalSeconds, measured.TotalSeconds, summary.Count, summary.P50, summary.P99,
            summary.Max, summary.Count / measured.TotalSeconds, cpu.TotalSeconds, cpu.TotalSeconds / measured.TotalSeconds, process.PeakWorkingSet64,
            GC.GetTotalMemory(forceFullCollection: false));
    }

    /// <summary>The plan's shards, from synthetic footers (no files): one shard per row group.</summary>
    internal static IReadOnlyList<ShardSpec> BuildShards(int files, int rowGroupsPerFile, long rowsPerGroup)
    {
        var footers = Enumerable.Range(0, files).Select(f => new ManifestFileSummary($"part-{f:D5}.parquet", rowGroupsPerFile * rowsPerGroup * 100, "train",
            Enumerable.Range(0, rowGroupsPerFile).Select(_ => new RowGroupSummary(rowsPerGroup, rowsPerGroup * 100, rowsPerGroup * 120)).ToList())).ToList();
        return ShardPlanner.BuildShards(footers, new ShardPlanOptions { Split = "train" });
    }

    /// <summary>A one-stage spec for the dashboard's initial snapshot (the feed needs stage names, nothing else).</summary>
    internal static RunSpec Spec(int workers)
    {
        var (spec, problems) = RunSpecLoader.Parse($"""
            name: bench
            world_size: {workers}
            manifest:
              path: /bench
            stages:
              - name: clip
                kind: clip
                model:
                  preset: clip-tiny
                batch_size: 256
                epochs: 1
            """, "bench", "/", new RunSpecValidator(exists: _ => true));
        return problems.Count == 0 ? spec! : throw new InvalidOperationException(string.Join("; ", problems.Select(p => p.Message)));
    }
}
