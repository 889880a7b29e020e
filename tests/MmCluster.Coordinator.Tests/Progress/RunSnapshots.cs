using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;

namespace MmCluster.Coordinator.Tests.Progress;

/// <summary>Snapshots of a two-stage run for the dashboard specs.</summary>
internal static class RunSnapshots
{
    public static RunSnapshot Pending() => new()
    {
        RunId = "run-1",
        RunName = "demo",
        WorldSize = 2,
        Stages =
        [
            new StageProgress { Name = "clip", Kind = StageKind.Clip, TotalSteps = 100 },
            new StageProgress { Name = "lm", Kind = StageKind.Lm, DependsOn = ["clip"], TotalSteps = 50 },
        ],
    };

    public static RunSnapshot Running(long step) => Pending() with
    {
        State = RunState.Running,
        Stage = "clip",
        Step = step,
        Loss = 2.5 - step / 100.0,
        Lr = 1e-3,
        SamplesPerSecond = 400,
        Stages =
        [
            Pending().Stages[0] with
            {
                State = StageState.Running,
                Step = step,
                Losses = new Dictionary<string, double> { ["loss"] = 2.5 - step / 100.0 },
            },
            Pending().Stages[1],
        ],
        Workers =
        [
            new WorkerProgress { WorkerId = "w0", Rank = 0, Address = "127.0.0.1:7001", State = WorkerState.Training, Step = step, StepTimeMs = 120, CollectiveTimeMs = 12, SamplesPerSecond = 200, LastHeartbeat = DateTimeOffset.UnixEpoch },
            new WorkerProgress { WorkerId = "w1", Rank = 1, Address = "127.0.0.1:7002", State = WorkerState.Training, Step = step, StepTimeMs = 125, CollectiveTimeMs = 15, SamplesPerSecond = 190 },
        ],
        Ledger = [new LedgerCounters("clip", 0, 6400, 3200, 0, 0)],
        LastEval = new EvalResult("clip", 50, new Dictionary<string, double> { ["zero_shot_top1"] = 0.61 }, DateTimeOffset.UnixEpoch),
    };

    public static RunSnapshot Finished(RunState state = RunState.Succeeded) => Running(100) with
    {
        State = state,
        Error = state == RunState.Failed ? "worker w1 (rank 1) left the cluster at step 100" : null,
    };
}
