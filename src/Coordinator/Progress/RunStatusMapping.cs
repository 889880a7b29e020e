using Google.Protobuf.Collections;
using MmCluster.Coordinator.Actors;
using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Progress;

/// <summary>
/// Translates the RunActor's <see cref="RunStatus"/> (phase, schedule, workers with their last reports, ledgers) into
/// the dashboard's <see cref="RunSnapshot"/> (pure). The workers' reports belong to the running stage (the one the last
/// StartGeneration sent; the RunActor forgets them when a stage starts), so their losses and evaluation go to that stage
/// only; every other stage keeps the numbers it had when it ended, and takes its state from the RunActor's schedule. A
/// status without a schedule is a one-stage run of <c>stage</c>.
/// </summary>
public static class RunStatusMapping
{
    public static RunSnapshot Translate(RunSnapshot previous, RunStatus run, string stage)
    {
        var current = run.Stage ?? stage;
        var training = run.Workers.Where(w => w.Rank >= 0).ToList();
        // A new generation of the same stage (a recovery) has no reports yet: the stage stays where it was, rather than
        // dropping to step 0 on every plot until the first report.
        var held = previous.Stage == current && training.All(w => w.Progress is null) && previous.Step > 0;
        var step = held ? previous.Step : training.Count == 0 ? 0 : training.Max(w => w.Step);
        var epoch = held ? previous.Epoch : training.Count == 0 ? 0 : training.Max(w => w.Epoch);
        var loss = held ? previous.Loss : training.Where(w => !double.IsNaN(w.Loss)).Select(w => w.Loss).DefaultIfEmpty(double.NaN).Average();
        var state = run.Phase switch
        {
            RunPhase.WaitingForWorkers => RunState.Pending,
            RunPhase.Running or RunPhase.Draining or RunPhase.Recovering => RunState.Running,
            RunPhase.Finished => RunState.Succeeded,
            _ => RunState.Failed,
        };
        var now = run.UpdatedAt;
        var wall = (now - previous.StartedAt).TotalSeconds;
        var scheduled = run.Stages.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var currentStatus = scheduled.GetValueOrDefault(current);
        var stageState = currentStatus?.State ?? state switch
        {
            RunState.Running => StageState.Running,
            RunState.Succeeded => StageState.Done,
            RunState.Failed => StageState.Failed,
            _ => StageState.Pending,
        };
        var stageWall = currentStatus?.StartedAt is { } started ? (now - started).TotalSeconds : wall;
        var ledgerSamples = run.Ledger.Epochs.Sum(e => e.SamplesCommitted + e.SamplesUncommitted);
        // Workers report the samples they trained; the ledger only counts whole shards.
        var samples = Math.Max(ledgerSamples, training.Sum(w => w.Progress?.Samples ?? 0));
        // Rank 0's report stands for the replicated scalars (lr) and the stage's last evaluation.
        var lead = training.OrderBy(w => w.Rank).FirstOrDefault();
        var lr = lead is null || held ? previous.Lr : lead.Progress?.Lr ?? 0;
        var evalMetrics = Mean(lead?.Progress is { } leadReport ? [leadReport.Eval] : []);
        var lastEval = evalMetrics.Count > 0
            ? new EvalResult(current, lead!.Step, evalMetrics, run.UpdatedAt)
            : previous.LastEval;
        // Each rank reports its loss terms (itc, itm, ...); the stage shows their mean over ranks.
        var losses = Mean(training.Where(w => w.Progress is not null).Select(w => w.Progress!.Losses));
        if (!double.IsNaN(loss))
        {
            losses["loss"] = loss;
        }
        var ledger = run.Stages.Count == 0
            ? run.Ledger.Epochs.Select(e => Counters(current, e)).ToList()
            : run.Stages.SelectMany(s => s.Ledger.Epochs.Select(e => Counters(s.Name, e))).ToList();
        return previous with
        {
            RunId = run.RunId,
            State = state,
            Stage = current,
            Step = step,
            Epoch = epoch,
            Loss = loss,
            Lr = lr,
            LastEval = lastEval,
            SamplesPerSecond = training.Sum(w => w.SamplesPerSecond),
            WorldSize = run.WorldSize,
            Generation = run.Generation,
            Recoveries = run.Recoveries.Count == 0 ? previous.Recoveries : run.Recoveries,
            CollectiveFraction = training.Where(w => w.StepTimeMs > 0).Select(w => w.CollectiveTimeMs / w.StepTimeMs).DefaultIfEmpty(0).Average(),
            Workers = Workers(run),
            Ledger = ledger,
            Stages = previous.Stages.Select(s => s.Name != current
                ? s with { State = scheduled.GetValueOrDefault(s.Name)?.State ?? s.State }
                : s with
                {
                    State = stageState,
                    Step = step,
                    Epoch = epoch,
                    SamplesSeen = samples,
                    Losses = losses.Count > 0 ? MergeLosses(s.Losses, losses) : s.Losses,
                    Eval = evalMetrics.Count > 0 ? evalMetrics : s.Eval,
                    WallSeconds = stageWall,
                }).ToList(),
            UpdatedAt = now,
            WallSeconds = wall,
            Error = run.FailureReason,
        };
    }

    /// <summary>Every worker's row: its device, its last report's timings, phases and memory, host, lanes, report age, and the straggler flag.</summary>
    private static List<WorkerProgress> Workers(RunStatus run)
    {
        var training = run.Workers.Select(w => w.Rank >= 0 && !w.Finished ? (w.StepTimeMs, w.CollectiveTimeMs) : (0.0, 0.0)).ToList();
        var straggler = StragglerRule.Find(training);
        return run.Workers.Select((w, i) => new WorkerProgress
        {
            WorkerId = w.WorkerId,
            Rank = w.Rank,
            Address = w.CollectiveAddress,
            State = w.Finished ? WorkerState.Ready : w.Rank < 0 ? WorkerState.Joining : WorkerState.Training,
            Step = w.Step,
            StepTimeMs = w.StepTimeMs,
            CollectiveTimeMs = w.CollectiveTimeMs,
            SamplesPerSecond = w.SamplesPerSecond,
            LastHeartbeat = w.LastReportAt,
            ForwardBackwardMs = w.Progress?.Phases?.ForwardBackwardMs ?? 0,
            GradAverageMs = w.Progress?.Phases?.AverageGradientsMs ?? 0,
            OptimizerMs = w.Progress?.Phases?.OptimizerMs ?? 0,
            DataWaitMs = w.Progress?.DataWaitMs ?? 0,
            Straggler = i == straggler,
            Host = w.Progress is { Host.Length: > 0 } report ? report.Host : HostOf(w.AkkaAddress),
            LastReportAgeSeconds = w.LastReportAt is { } at ? Math.Max(0, (run.UpdatedAt - at).TotalSeconds) : 0,
            Lanes = w.Progress?.Lanes.ToList() ?? [],
            Device = w.Device,
            ResidentBytes = w.Progress?.Memory is { HasResidentBytes: true } memory ? memory.ResidentBytes : null,
            PeakResidentBytes = w.Progress?.Memory is { HasPeakResidentBytes: true } peak ? peak.PeakResidentBytes : null,
            ManagedHeapBytes = w.Progress?.Memory?.ManagedHeapBytes,
        }).ToList();
    }

    /// <summary>The host of an Akka address (<c>akka.tcp://mmcluster@10.0.0.7:4053</c> -> <c>10.0.0.7</c>); empty when it has none.</summary>
    internal static string HostOf(string akkaAddress) =>
        Uri.TryCreate(akkaAddress, UriKind.Absolute, out var uri) ? uri.Host : "";

    /// <summary>Each metric's mean over the reports that have it, NaN values left out.</summary>
    private static Dictionary<string, double> Mean(IEnumerable<MapField<string, double>> reports) =>
        reports.SelectMany(r => r)
            .Where(kv => !double.IsNaN(kv.Value))
            .GroupBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Average(kv => kv.Value), StringComparer.Ordinal);

    private static Dictionary<string, double> MergeLosses(IReadOnlyDictionary<string, double> previous, Dictionary<string, double> latest)
    {
        var merged = new Dictionary<string, double>(previous, StringComparer.Ordinal);
        foreach (var (name, value) in latest)
        {
            merged[name] = value;
        }
        return merged;
    }

    private static LedgerCounters Counters(string stage, Ledger.EpochLedgerStats e) =>
        new(stage, e.Epoch, e.SamplesExpected, e.SamplesCommitted, e.Duplicates, e.Missing)
        {
            Ran = e.Ran,
            Skipped = e.SkippedCommitted + e.SkippedUncommitted,
            SkippedByReason = e.SkippedByReason,
            SkippedByFile = e.SkippedByFile.Select(f => new FileSkipCounters(f.File, f.SamplesExpected, f.SamplesCommitted, f.SkippedByReason)).ToList(),
        };
}
