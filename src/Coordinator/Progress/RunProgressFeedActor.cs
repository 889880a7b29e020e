using Akka.Actor;
using MmCluster.Coordinator.Actors;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Manifest;

namespace MmCluster.Coordinator.Progress;

/// <summary>
/// Subscribes to the RunActor's snapshots and publishes them, translated by <see cref="RunStatusMapping"/>, into a
/// <see cref="RunProgressHub"/> (the dashboard's source); records a history point, named after the running stage,
/// whenever that stage's step advances, with every timed training worker's timings (<see cref="WorkerHistoryPoint"/>).
/// </summary>
public sealed class RunProgressFeedActor : ReceiveActor
{
    private readonly IActorRef _runActor;
    private readonly RunProgressHub _hub;
    private readonly string _stage;
    private readonly Action<HistoryPoint>? _onPoint;
    private int _recoveriesMarked;
    private long _lastRecordedStep = -1;
    private string? _recordingStage;
    private IReadOnlyDictionary<string, double>? _lastEval;

    public RunProgressFeedActor(IActorRef runActor, RunProgressHub hub, string stage, Action<HistoryPoint>? onPoint = null)
    {
        _runActor = runActor;
        _hub = hub;
        _stage = stage;
        _onPoint = onPoint;
        Receive<RunStatus>(HandleStatus);
    }

    public static Props Props(IActorRef runActor, RunProgressHub hub, string stage, Action<HistoryPoint>? onPoint = null) =>
        Akka.Actor.Props.Create(() => new RunProgressFeedActor(runActor, hub, stage, onPoint));

    protected override void PreStart() => _runActor.Tell(new SubscribeRunStatus(Self));

    protected override void PostStop() => _runActor.Tell(new UnsubscribeRunStatus(Self));

    private void HandleStatus(RunStatus run)
    {
        var snapshot = RunStatusMapping.Translate(_hub.Current, run, _stage);
        // The step's point is recorded before its snapshot is published, so a stream woken by the snapshot sends both.
        RecordPoint(snapshot);
        _hub.Publish(snapshot);
    }

    private void RecordPoint(RunSnapshot snapshot)
    {
        var stage = snapshot.Stage ?? _stage;
        if (stage != _recordingStage)
        {
            _recordingStage = stage;
            _lastRecordedStep = -1;
        }
        if (snapshot.Step > _lastRecordedStep && snapshot.State == RunState.Running)
        {
            _lastRecordedStep = snapshot.Step;
            var eval = snapshot.LastEval?.Metrics;
            var newEval = eval is { Count: > 0 } && !ReferenceEquals(eval, _lastEval) && (_lastEval is null || !eval.SequenceEqual(_lastEval));
            if (newEval)
            {
                _lastEval = eval;
            }
            var timed = snapshot.Workers.Where(w => w.StepTimeMs > 0).ToList();
            var point = new HistoryPoint
            {
                Stage = stage,
                Step = snapshot.Step,
                Epoch = snapshot.Epoch,
                WallSeconds = snapshot.WallSeconds,
                Time = snapshot.UpdatedAt,
                Lr = snapshot.Lr,
                SamplesPerSecond = snapshot.SamplesPerSecond,
                StepMs = timed.Select(w => w.StepTimeMs).DefaultIfEmpty(0).Average(),
                CollectiveMs = timed.Select(w => w.CollectiveTimeMs).DefaultIfEmpty(0).Average(),
                Losses = snapshot.Stages.FirstOrDefault(s => s.Name == stage)?.Losses ?? new Dictionary<string, double>(),
                Eval = newEval ? eval : null,
                Skipped = SkipCounts.Sum(snapshot.Ledger.Where(l => l.Stage == stage).Select(l => l.SkippedByReason)),
                Generation = snapshot.Generation,
                WorldSize = snapshot.Workers.Count(w => w.Rank >= 0),
                Recovery = snapshot.Recoveries.Count > _recoveriesMarked ? snapshot.Recoveries[^1] : null,
                Workers = timed.Count == 0 ? null : timed.Where(w => w.Rank >= 0).Select(w => new WorkerHistoryPoint
                {
                    WorkerId = w.WorkerId,
                    Rank = w.Rank,
                    Step = w.Step,
                    StepMs = w.StepTimeMs,
                    ForwardBackwardMs = w.ForwardBackwardMs,
                    GradAverageMs = w.GradAverageMs,
                    OptimizerMs = w.OptimizerMs,
                    CollectiveMs = w.CollectiveTimeMs,
                    SamplesPerSecond = w.SamplesPerSecond,
                    DataWaitMs = w.DataWaitMs,
                }).ToList(),
            };
            _recoveriesMarked = snapshot.Recoveries.Count;
            _hub.Record(point);
            _onPoint?.Invoke(point);
        }
    }
}
