using Akka.Actor;
using Akka.Event;
using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;

namespace MmCluster.Coordinator.Actors;

/// <summary>
/// Hands shards out to workers that ask for work (pull) and keeps the <see cref="ShardLedger"/>, with the cursors each
/// step reports (<see cref="StepStarted"/>). A lost worker's leases stay until the RunActor's <see cref="RecoverLedger"/>,
/// which knows which of its steps the run keeps and returns every lease from its kept rows. Workers reach it through
/// the RunActor, which forwards their requests so that the sender stays the worker's agent actor. Each stage of the
/// schedule has its own ledger: <see cref="BeginStageLedger"/> starts a fresh one planned for the next stage.
/// </summary>
public sealed class ShardLedgerActor : ReceiveActor, IWithTimers
{
    /// <summary>Stats after leases and completions go out at most this often (computing them is O(shards done)).</summary>
    public static readonly TimeSpan PublishInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a worker waits before asking again when every remaining shard is leased.</summary>
    public const int RetryAfterMs = 200;

    private readonly Func<int, int, EpochPlan> planStageEpoch;
    private ShardLedger ledger;
    private int stage;
    private readonly HashSet<IActorRef> subscribers = [];
    private readonly ILoggingAdapter log = Context.GetLogger();
    private bool publishPending;

    /// <param name="planStageEpoch">Plans epoch e of stage k: (k, e) => plan.</param>
    /// <param name="restore">The ledger of <paramref name="firstStage"/> to continue from (a resume); null: fresh.</param>
    public ShardLedgerActor(Func<int, int, EpochPlan> planStageEpoch, LedgerSnapshot? restore, int firstStage)
    {
        this.planStageEpoch = planStageEpoch;
        stage = firstStage;
        ledger = new ShardLedger(epoch => planStageEpoch(firstStage, epoch), restore);
        Receive<RequestShard>(HandleRequestShard);
        Receive<ShardCompleted>(HandleShardCompleted);
        Receive<StepStarted>(HandleStepStarted);
        Receive<CommitLedger>(HandleCommitLedger);
        Receive<RecoverLedger>(HandleRecoverLedger);
        Receive<BeginStageLedger>(HandleBeginStage);
        Receive<BeginLedgerGeneration>(begin => ledger.BeginGeneration(begin.RowsPerStep));
        Receive<GetLedgerStats>(_ => Sender.Tell(Stats()));
        Receive<SubscribeLedgerStats>(HandleSubscribe);
        Receive<Terminated>(terminated => subscribers.Remove(terminated.ActorRef));
        Receive<PublishDue>(_ => Publish());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>A one-stage ledger (every stage plans its epochs the same way).</summary>
    public static Props Props(Func<int, EpochPlan> planEpoch, LedgerSnapshot? restore = null) =>
        Props((_, epoch) => planEpoch(epoch), restore);

    public static Props Props(Func<int, int, EpochPlan> planStageEpoch, LedgerSnapshot? restore, int firstStage = 0) =>
        Akka.Actor.Props.Create(() => new ShardLedgerActor(planStageEpoch, restore, firstStage));

    private void HandleBeginStage(BeginStageLedger begin)
    {
        if (begin.Stage <= stage)
        {
            log.Warning("Ledger of stage {0} asked to begin stage {1} again; ignored.", stage, begin.Stage);
            return;
        }
        stage = begin.Stage;
        var next = begin.Stage;
        ledger = new ShardLedger(epoch => planStageEpoch(next, epoch), null);
        Publish();
    }

    private LedgerStats Stats() => ledger.Stats() with { Stage = stage };

    private void HandleRequestShard(RequestShard request)
    {
        LeaseResult result;
        try
        {
            result = ledger.Lease(request.Epoch, request.WorkerId);
        }
        catch (Exception ex)
        {
            // The plan function is the manifest planner: any failure of it ends the run with its message, and the
            // ledger keeps its state (a crash would restart the actor with an empty ledger).
            Fault($"cannot hand out epoch {request.Epoch} to worker {request.WorkerId}: {ex.Message}");
            return;
        }
        switch (result)
        {
            case LeaseResult.Leased leased:
                Sender.Tell(ToMessage(request, leased.Shard));
                PublishSoon();
                break;
            case LeaseResult.NoneAvailable:
                Sender.Tell(new NoShardAvailable { RequestId = request.RequestId, Epoch = request.Epoch, RetryAfterMs = RetryAfterMs });
                break;
            case LeaseResult.EpochComplete complete:
                Sender.Tell(new EpochCompleted { RequestId = request.RequestId, Epoch = request.Epoch, SamplesExpected = complete.SamplesExpected });
                break;
        }
    }

    private void HandleShardCompleted(ShardCompleted completed)
    {
        CompletionResult result;
        try
        {
            result = ledger.Complete(completed.Epoch, completed.ShardId, completed.RowsConsumed, completed.Step, completed.SkippedByReason);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            Fault($"worker {completed.WorkerId} reported an impossible completion: {ex.Message}");
            return;
        }
        if (result == CompletionResult.UnknownShard)
        {
            log.Warning("Worker {0} completed epoch {1} shard {2}, which was never planned; ignored.",
                completed.WorkerId, completed.Epoch, completed.ShardId);
            return;
        }
        if (result == CompletionResult.Duplicate)
        {
            log.Warning("Worker {0} completed epoch {1} shard {2} again: {3} duplicate samples.",
                completed.WorkerId, completed.Epoch, completed.ShardId, completed.RowsConsumed);
        }
        PublishSoon();
    }

    private void HandleStepStarted(StepStarted started)
    {
        var ignored = ledger.Advance(started.WorkerId, started.Step, started.Cursors);
        if (ignored > 0)
        {
            log.Warning("Worker {0} step {1}: {2} cursor(s) for shards it does not hold; ignored.", started.WorkerId, started.Step, ignored);
        }
    }

    private void HandleRecoverLedger(RecoverLedger recover)
    {
        var result = ledger.Recover(recover.Step);
        log.Info("Ledger recovered at step {0}: {1} lease(s) returned, {2} row(s) of discarded steps rewound, first open epoch {3}.",
            recover.Step, result.LeasesReturned, result.RowsRewound, result.FirstOpenEpoch);
        Sender.Tell(new LedgerRecovered(recover.Step, result));
        Publish();
    }

    private void HandleCommitLedger(CommitLedger commit)
    {
        Sender.Tell(new LedgerCommitted(commit.Step, ledger.Commit(commit.Step)));
        Publish();
    }

    private void HandleSubscribe(SubscribeLedgerStats subscribe)
    {
        subscribers.Add(subscribe.Subscriber);
        Context.Watch(subscribe.Subscriber);
        subscribe.Subscriber.Tell(Stats());
    }

    private void Fault(string reason)
    {
        log.Error(reason);
        foreach (var subscriber in subscribers)
        {
            subscriber.Tell(new LedgerFault(reason));
        }
    }

    private void PublishSoon()
    {
        if (!publishPending && subscribers.Count > 0)
        {
            publishPending = true;
            Timers.StartSingleTimer(PublishDue.Instance, PublishDue.Instance, PublishInterval);
        }
    }

    private void Publish()
    {
        publishPending = false;
        Timers.Cancel(PublishDue.Instance);
        if (subscribers.Count == 0)
        {
            return;
        }
        var stats = Stats();
        foreach (var subscriber in subscribers)
        {
            subscriber.Tell(stats);
        }
    }

    private static ShardLeased ToMessage(RequestShard request, ShardSpec shard) => new()
    {
        RequestId = request.RequestId,
        Epoch = request.Epoch,
        ShardId = shard.ShardId,
        File = shard.File,
        FirstRowGroup = shard.FirstRowGroup,
        RowGroupCount = shard.RowGroupCount,
        FirstRow = shard.FirstRow,
        RowCount = shard.RowCount,
        SkipRows = shard.SkipRows,
        EndRow = shard.EndRow,
    };

    private sealed class PublishDue
    {
        public static readonly PublishDue Instance = new();

        private PublishDue() { }
    }
}
