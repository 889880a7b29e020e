using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Google.Protobuf;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;

namespace MmCluster.Cli.Bench;

/// <summary>How <c>bench coordinator --failures N</c> runs.</summary>
internal sealed record RecoveryBenchOptions(
    int Workers, int Failures, int Files, int RowGroupsPerFile, long RowsPerGroup, TimeSpan StepTime, int Batch, TimeSpan MeanGap, int Seed)
{
    /// <summary>Training before the first failure (leases and cursors in place) and after the last.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan ReplacementWait { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>One recovery: from the kill to the next generation at every worker (bench), and the RunActor's own figures.</summary>
internal sealed record RecoveryTiming(long KeptStep, double LossToStartMs, double? AbortMs, double? ReformMs, double? LedgerMs, int LeasesReturned, long RowsRewound);

internal sealed record Percentiles(double P50, double P99, double Max)
{
    public static Percentiles Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0
            ? new Percentiles(double.NaN, double.NaN, double.NaN)
            : new Percentiles(At(sorted, 0.50), At(sorted, 0.99), sorted[^1]);
    }

    private static double At(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}

/// <summary>What <c>bench coordinator --failures N</c> measured.</summary>
internal sealed record RecoveryBenchResult(
    int Workers, int Shards, long Rows, int Failures, int Recoveries, double StepMs, int Batch, int Seed, double RendezvousSeconds,
    Percentiles LossToStartMs, Percentiles AbortMs, Percentiles ReformMs, Percentiles LedgerMs,
    long HeapBytesBefore, long HeapBytesAfter, long WorkingSetBytesBefore, long WorkingSetBytesAfter, long PeakWorkingSetBytes,
    long RowsTrained, long DuplicateRows, long LedgerRowsCommitted, long LedgerDuplicates, int LedgerMismatches, IReadOnlyList<string> Mismatches,
    int StartGenerationBytes, IReadOnlyList<RecoveryTiming> Each);

/// <summary>
/// Recovery at scale, in one process: the real RunActor (recovery on, min_workers = workers - 1) and ShardLedgerActor
/// over the plan, against <see cref="SteppingWorkerActor"/>s that train in lockstep steps with lease cursors. N times, at
/// random times from the seed, the bench kills one (its collective breaks, its actor stops, and the RunActor's DeathWatch
/// sees <c>Terminated</c>) and starts a replacement under the same worker id; each recovery is timed from the kill until
/// every worker received the next generation. At the end the ledger is committed at the last trained step and compared
/// row by row with the rows the workers' kept steps trained (<see cref="TrainedRows"/>).
/// </summary>
internal static class RecoveryBench
{
    private static readonly TimeSpan GenerationTimeout = TimeSpan.FromSeconds(60);

    public static async Task<RecoveryBenchResult> RunAsync(RecoveryBenchOptions o, TextWriter log, CancellationToken ct)
    {
        var shards = CoordinatorBench.BuildShards(o.Files, o.RowGroupsPerFile, o.RowsPerGroup);
        var byId = shards.ToDictionary(s => s.ShardId);
        var rows = shards.Sum(s => s.RowCount);
        await log.WriteLineAsync($"bench coordinator: {o.Workers} simulated workers, {shards.Count} shards of {rows:N0} rows, steps of {o.Batch} rows " +
            $"per worker every {o.StepTime.TotalMilliseconds:0} ms, {o.Failures} failures (seed {o.Seed})");

        // Off: every recovery logs a warning naming all the workers, which would fill the console (and the JSON); a failure
        // of the run is reported by the bench with the RunActor's message. MMCLUSTER_BENCH_LOGLEVEL=INFO shows the log.
        using var system = ActorSystem.Create("bench-recovery", $"akka.loglevel = {Environment.GetEnvironmentVariable("MMCLUSTER_BENCH_LOGLEVEL") ?? "OFF"}");
        var ledger = system.ActorOf(ShardLedgerActor.Props(epoch => ShardPlanner.PlanEpoch(shards, 42, epoch)), "shard-ledger");
        var ledgerMs = new ConcurrentQueue<double>();
        var timedLedger = system.ActorOf(LedgerTimingActor.Props(ledger, ledgerMs), "ledger-timing");
        var outcome = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var settings = new RunSettings("bench", o.Workers, new byte[256])
        {
            Recovery = new RecoverySettings(true, Math.Max(1, o.Workers - 1), o.ReplacementWait, o.Failures + 1, TimeSpan.FromHours(1), TimeSpan.FromSeconds(30)),
        };
        var run = system.ActorOf(RunActor.Props(settings, timedLedger, x => outcome.TrySetResult(x)), "run");
        system.ActorOf(RunProgressFeedActor.Props(run, new RunProgressHub(RunSnapshot.Initial("bench", CoordinatorBench.Spec(o.Workers), o.Workers)), "clip"),
            "progress-feed");

        var world = new SimulatedWorld(o.Workers);
        var agents = new IActorRef[o.Workers];
        var started = Stopwatch.StartNew();
        for (var i = 0; i < o.Workers; i++)
        {
            agents[i] = system.ActorOf(SteppingWorkerActor.Props($"worker-{i}", run, world, o.StepTime, o.Batch), $"worker-{i}");
        }
        long generation = 1;
        await Until(world.AllStarted(generation), outcome, run, $"generation {generation} did not reach all {o.Workers} workers", ct);
        var rendezvous = started.Elapsed;
        await Task.Delay(o.Settle, ct);
        var (heapBefore, workingSetBefore) = Memory();

        var random = new Random(o.Seed);
        var each = new List<RecoveryTiming>();
        for (var failure = 1; failure <= o.Failures; failure++)
        {
            await Task.Delay(o.MeanGap * (0.5 + random.NextDouble()), ct);
            var victim = random.Next(o.Workers);
            var dead = agents[victim].WatchAsync(ct);
            var killedAt = Stopwatch.GetTimestamp();
            world.CollectiveOf(generation)!.Break();
            system.Stop(agents[victim]);
            await dead;
            agents[victim] = system.ActorOf(SteppingWorkerActor.Props($"worker-{victim}", run, world, o.StepTime, o.Batch), $"worker-{victim}-{failure}");
            var allStarted = await Until(world.AllStarted(generation + 1), outcome, run,
                $"failure {failure} (worker-{victim}): generation {generation + 1} did not reach all {o.Workers} workers", ct);
            var status = await run.Ask<RunStatus>(GetRunStatus.Instance, TimeSpan.FromSeconds(30), ct);
            var record = status.Recoveries[^1];
            if (record.GenerationBefore != generation || record.GenerationAfter != generation + 1)
            {
                throw new InvalidOperationException($"failure {failure}: expected a recovery from generation {generation}, the last was " +
                    $"{record.GenerationBefore} -> {record.GenerationAfter} ({record.Cause})");
            }
            world.Trained.Keep(generation, record.Step);
            each.Add(new RecoveryTiming(record.Step, Stopwatch.GetElapsedTime(killedAt, allStarted).TotalMilliseconds, record.AbortMs, record.ReformMs,
                null, record.LeasesReturned, record.RowsRewound));
            generation++;
        }
        await Task.Delay(o.Settle, ct);
        var (heapAfter, workingSetAfter) = Memory();

        // The end: no step trains any more; once the last reports are in, commit the ledger at the last trained step.
        var last = world.CollectiveOf(generation)!.Break();
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await run.Ask<RunStatus>(GetRunStatus.Instance, TimeSpan.FromSeconds(30), ct);
        var timed = ledgerMs.ToArray();
        var final = await timedLedger.Ask<LedgerRecovered>(new RecoverLedger(last), TimeSpan.FromSeconds(30), ct);
        world.Trained.Keep(generation, last);
        var mismatches = world.Trained.Compare(final.Result.Snapshot, byId);
        await run.Ask<RunStatus>(new AbortRun("benchmark over"), TimeSpan.FromSeconds(30), ct);
        each = each.Select((r, i) => r with { LedgerMs = i < timed.Length ? timed[i] : null }).ToList();
        return new RecoveryBenchResult(o.Workers, shards.Count, rows, o.Failures, each.Count, o.StepTime.TotalMilliseconds, o.Batch, o.Seed,
            rendezvous.TotalSeconds,
            Percentiles.Of(each.Select(r => r.LossToStartMs)), Percentiles.Of(each.Select(r => r.AbortMs ?? double.NaN)),
            Percentiles.Of(each.Select(r => r.ReformMs ?? double.NaN)), Percentiles.Of(each.Select(r => r.LedgerMs ?? double.NaN)),
            heapBefore, heapAfter, workingSetBefore, workingSetAfter, Process.GetCurrentProcess().PeakWorkingSet64,
            world.Trained.RowsKept, world.Trained.DuplicateRows,
            final.Result.Snapshot.Epochs.Sum(e => e.Committed.Sum(c => c.RowsConsumed)), final.Result.Snapshot.Epochs.Sum(e => e.Duplicates),
            mismatches.Count, mismatches.Take(5).ToList(), StartGenerationBytes(o.Workers), each);
    }

    /// <summary>Waits for <paramref name="task"/>; fails with <paramref name="what"/> when the run ends first or it takes a minute.</summary>
    private static async Task<T> Until<T>(Task<T> task, TaskCompletionSource<RunOutcome> outcome, IActorRef run, string what, CancellationToken ct)
    {
        var done = await Task.WhenAny(task, outcome.Task, Task.Delay(GenerationTimeout, ct));
        if (done == task)
        {
            return await task;
        }
        if (done == outcome.Task)
        {
            throw new InvalidOperationException($"{what}: {(await outcome.Task).Message}");
        }
        var status = await run.Ask<RunStatus>(GetRunStatus.Instance, TimeSpan.FromSeconds(30), ct);
        throw new InvalidOperationException($"{what} within {GenerationTimeout.TotalSeconds:0} s; the run is {status.Phase} in generation " +
            $"{status.Generation} with {status.Workers.Count(w => w.Rank >= 0)} members and {status.Workers.Count} registered; recoveries: " +
            string.Join("; ", status.Recoveries.Select(r => $"{r.GenerationBefore}->{r.GenerationAfter} {r.WorldSizeBefore}->{r.WorldSizeAfter} {r.Cause}")));
    }

    /// <summary>Managed heap after a full collection, and the process's working set.</summary>
    private static (long Heap, long WorkingSet) Memory()
    {
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        return (heap, process.WorkingSet64);
    }

    /// <summary>
    /// The wire size of one worker's <see cref="StartGeneration"/> at this world size, with addresses as a cluster has
    /// them: every message carries the whole peer table, so a generation sends W times this.
    /// </summary>
    private static int StartGenerationBytes(int workers)
    {
        var start = new StartGeneration { RunId = "bench", Generation = 2, Rank = 0, WorldSize = workers, StageConfig = ByteString.CopyFrom(new byte[256]) };
        start.Peers.AddRange(Enumerable.Range(0, workers).Select(i => new Peer
        {
            Rank = i,
            WorkerId = $"worker-{i}",
            CollectiveAddress = $"http://10.0.{i / 256}.{i % 256}:5100",
            AkkaAddress = $"akka.tcp://mmcluster@10.0.{i / 256}.{i % 256}:4053",
        }));
        start.Recovery = new GenerationRecovery { Step = 1000, SourceRank = 0, Epoch = 0, PreviousGeneration = 1 };
        return start.CalculateSize();
    }
}
