using MmCluster.Shared.Runs;
using Actors = MmCluster.Coordinator.Actors;

namespace MmCluster.Coordinator.Progress;

/// <summary>
/// Translates the RunActor's snapshot (<see cref="Actors.RunSnapshot"/>: phase, schedule, workers, ledgers) into the
/// dashboard's <see cref="RunSnapshot"/> (pure). The workers' progress belongs to the running stage (the one the last
/// StartGeneration sent); every other stage keeps the numbers it had when it ended, and takes its state from the
/// RunActor's schedule. A snapshot without a schedule is a one-stage run of <paramref name="stage"/>.
/// </summary>
public static class RunActorSnapshots
{
    private const string LossPrefix = "loss.";
    private const string EvalPrefix = "eval.";

    public static RunSnapshot Translate(RunSnapshot previous, Actors.RunSnapshot run, string stage)
    {
        var current = run.Stage ?? stage;
        var training = run.Workers.Where(w => w.Rank >= 0).ToList();
        var step = training.Count == 0 ? 0 : training.Max(w => w.Step);
        var epoch = training.Count == 0 ? 0 : training.Max(w => w.Epoch);
        var loss = training.Where(w => !double.IsNaN(w.Loss)).Select(w => w.Loss).DefaultIfEmpty(double.NaN).Average();
        var state = run.Phase switch
        {
            Actors.RunPhase.WaitingForWorkers => RunState.Pending,
            Actors.RunPhase.Running => RunState.Running,
            Actors.RunPhase.Finished => RunState.Succeeded,
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
        // Workers report the samples they trained ("samples"); the ledger only counts whole shards.
        var samples = Math.Max(ledgerSamples, (long)training.Sum(w => w.Metrics.GetValueOrDefault("samples")));
        // Rank 0 reports the replicated scalars (lr) and the last evaluation as "eval.<name>" metrics.
        var lead = training.OrderBy(w => w.Rank).FirstOrDefault();
        var lr = lead?.Metrics.GetValueOrDefault("lr") ?? previous.Lr;
        var evalMetrics = Prefixed(lead is null ? [] : [lead], EvalPrefix);
        var lastEval = evalMetrics.Count > 0
            ? new EvalResult(current, lead!.Step, evalMetrics, run.UpdatedAt)
            : previous.LastEval;
        // Each rank reports its loss terms ("loss.itc", "loss.itm", ...); the stage shows their mean over ranks.
        var losses = Prefixed(training, LossPrefix);
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
            CollectiveFraction = training.Where(w => w.StepTimeMs > 0).Select(w => w.CollectiveTimeMs / w.StepTimeMs).DefaultIfEmpty(0).Average(),
            Workers = run.Workers.Select(w => new WorkerProgress
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
            }).ToList(),
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

    private static Dictionary<string, double> Prefixed(IEnumerable<Actors.WorkerStatus> workers, string prefix) =>
        workers.SelectMany(w => w.Metrics)
            .Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && !double.IsNaN(kv.Value))
            .GroupBy(kv => kv.Key[prefix.Length..], StringComparer.Ordinal)
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
        new(stage, e.Epoch, e.SamplesExpected, e.SamplesCommitted, e.Duplicates, e.Missing);
}
