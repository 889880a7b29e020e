using MmCluster.Shared.Runs;
using Actors = MmCluster.Coordinator.Actors;

namespace MmCluster.Coordinator.Progress;

/// <summary>
/// Translates the RunActor's snapshot (<see cref="Actors.RunSnapshot"/>: phase, workers, ledger) into the dashboard's
/// <see cref="RunSnapshot"/> for the running stage (pure). Until the RunActor drives several stages, the whole run is
/// <paramref name="stage"/>; the other stages of <c>previous</c> are kept as they were.
/// </summary>
public static class RunActorSnapshots
{
    public static RunSnapshot Translate(RunSnapshot previous, Actors.RunSnapshot run, string stage)
    {
        var training = run.Workers.Where(w => w.Rank >= 0).ToList();
        var step = training.Count == 0 ? 0 : training.Max(w => w.Step);
        var loss = training.Where(w => !double.IsNaN(w.Loss)).Select(w => w.Loss).DefaultIfEmpty(double.NaN).Average();
        var state = run.Phase switch
        {
            Actors.RunPhase.WaitingForWorkers => RunState.Pending,
            Actors.RunPhase.Running => RunState.Running,
            Actors.RunPhase.Finished => RunState.Succeeded,
            _ => RunState.Failed,
        };
        var stageState = state switch
        {
            RunState.Running => StageState.Running,
            RunState.Succeeded => StageState.Done,
            RunState.Failed => StageState.Failed,
            _ => StageState.Pending,
        };
        var now = run.UpdatedAt;
        var wall = (now - previous.StartedAt).TotalSeconds;
        var ledgerSamples = run.Ledger.Epochs.Sum(e => e.SamplesCommitted + e.SamplesUncommitted);
        // Workers report the samples they trained ("samples"); the ledger only counts whole shards.
        var samples = Math.Max(ledgerSamples, (long)training.Sum(w => w.Metrics.GetValueOrDefault("samples")));
        // Rank 0 reports the replicated scalars (lr) and the last evaluation as "eval.<name>" metrics.
        var lead = training.OrderBy(w => w.Rank).FirstOrDefault();
        var lr = lead?.Metrics.GetValueOrDefault("lr") ?? previous.Lr;
        var evalMetrics = lead?.Metrics
            .Where(kv => kv.Key.StartsWith("eval.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["eval.".Length..], kv => kv.Value) ?? [];
        var lastEval = evalMetrics.Count > 0
            ? new EvalResult(stage, lead!.Step, evalMetrics, run.UpdatedAt)
            : previous.LastEval;
        return previous with
        {
            RunId = run.RunId,
            State = state,
            Stage = stage,
            Step = step,
            Epoch = training.Count == 0 ? 0 : training.Max(w => w.Epoch),
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
            Ledger = run.Ledger.Epochs.Select(e => new LedgerCounters(stage, e.Epoch, e.SamplesExpected, e.SamplesCommitted, e.Duplicates, e.Missing)).ToList(),
            Stages = previous.Stages.Select(s => s.Name != stage ? s : s with
            {
                State = stageState,
                Step = step,
                Epoch = training.Count == 0 ? 0 : training.Max(w => w.Epoch),
                SamplesSeen = samples,
                Losses = double.IsNaN(loss) ? s.Losses : new Dictionary<string, double>(s.Losses) { ["loss"] = loss },
                Eval = evalMetrics.Count > 0 ? evalMetrics : s.Eval,
                WallSeconds = wall,
            }).ToList(),
            UpdatedAt = now,
            WallSeconds = wall,
            Error = run.FailureReason,
        };
    }
}
