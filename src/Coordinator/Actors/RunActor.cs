using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Google.Protobuf;
using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Actors;

/// <summary>
/// The coordinator's run: rendezvous (waits for the world size of <see cref="RegisterWorker"/>, assigns ranks by
/// worker id, sends every worker the same peer table in <see cref="StartGeneration"/>), then the single address
/// workers talk to: shard requests and completions go to the ledger, progress goes into the <see cref="RunStatus"/>
/// for subscribers, checkpoint votes become ledger commits. The run is a schedule of stages over the same workers: when
/// every worker reported <see cref="WorkerFinished"/> for a stage (a barrier; its final checkpoint is committed by then),
/// the next stage starts as the next generation with the same ranks and peer table and a fresh shard ledger; the run
/// finishes after the last stage. A worker that becomes unreachable, leaves or terminates mid-run fails the run (and the
/// running stage): every surviving worker gets <see cref="RunFailed"/> naming it.
/// </summary>
public sealed class RunActor : ReceiveActor, IWithTimers
{
    /// <summary>
    /// Frequent changes (a progress report, a lease, a registration) are published at most this often: building a
    /// snapshot costs O(workers), so one per message would cost O(workers^2) per second at scale (bench coordinator).
    /// Phase changes, checkpoint commits and the end are published at once.
    /// </summary>
    public static readonly TimeSpan PublishInterval = TimeSpan.FromMilliseconds(200);

    private readonly RunSettings settings;
    private readonly IActorRef ledger;
    private readonly Action<RunOutcome> onOutcome;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<string, WorkerEntry> workers = new(StringComparer.Ordinal);
    private readonly Dictionary<long, CommitVotes> votes = [];
    private readonly HashSet<IActorRef> subscribers = [];
    private readonly IReadOnlyList<ScheduledStage> schedule;
    private readonly StageStatus[] stages;
    private RunPhase phase = RunPhase.WaitingForWorkers;
    private int stageIndex;
    private long generation;
    private string? failureReason;
    private bool publishPending;

    public RunActor(RunSettings settings, IActorRef ledger, Action<RunOutcome> onOutcome)
    {
        this.settings = settings;
        this.ledger = ledger;
        this.onOutcome = onOutcome;
        schedule = settings.Schedule;
        stages = schedule.Select((stage, i) => new StageStatus(stage.Name, i < settings.StartAt ? StageState.Done : StageState.Pending,
            null, LedgerStats.Empty, null, null, null)).ToArray();
        stageIndex = settings.StartAt;
        generation = settings.Generation;
        Receive<RegisterWorker>(HandleRegister);
        Receive<RequestShard>(HandleRequestShard);
        Receive<ShardCompleted>(HandleShardCompleted);
        Receive<ReportProgress>(HandleProgress);
        Receive<CommitCheckpoint>(HandleCommitVote);
        Receive<LedgerCommitted>(HandleLedgerCommitted);
        Receive<WorkerFinished>(HandleWorkerFinished);
        Receive<WorkerFailed>(HandleWorkerFailed);
        Receive<LedgerStats>(HandleLedgerStats);
        Receive<LedgerFault>(fault => Fail(fault.Reason, null));
        Receive<AbortRun>(HandleAbort);
        Receive<RendezvousDeadline>(_ => HandleRendezvousDeadline());
        Receive<GetRunStatus>(_ => Sender.Tell(Snapshot()));
        Receive<SubscribeRunStatus>(HandleSubscribe);
        Receive<UnsubscribeRunStatus>(unsubscribe => subscribers.Remove(unsubscribe.Subscriber));
        Receive<Terminated>(HandleTerminated);
        Receive<PublishDue>(_ => Publish());
        Receive<ClusterEvent.UnreachableMember>(HandleUnreachable);
        Receive<ClusterEvent.IMemberEvent>(HandleMemberEvent);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(RunSettings settings, IActorRef ledger, Action<RunOutcome>? onOutcome = null)
    {
        var callback = onOutcome ?? IgnoreOutcome;
        return Akka.Actor.Props.Create(() => new RunActor(settings, ledger, callback));
    }

    protected override void PreStart()
    {
        if (settings.WorldSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.WorldSize, "world size must be at least 1.");
        }
        if (settings.StartAt < 0 || settings.StartAt >= schedule.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.StartAt, $"the schedule has {schedule.Count} stage(s).");
        }
        ledger.Tell(new SubscribeLedgerStats(Self));
        Context.Watch(ledger);
        if (settings.RendezvousTimeout is { } timeout)
        {
            Timers.StartSingleTimer(nameof(RendezvousDeadline), RendezvousDeadline.Instance, timeout);
        }
        if (InCluster)
        {
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.UnreachableMember));
        }
    }

    protected override void PostStop()
    {
        if (InCluster)
        {
            Cluster.Get(Context.System).Unsubscribe(Self);
        }
    }

    private void HandleRegister(RegisterWorker register)
    {
        if (string.IsNullOrWhiteSpace(register.WorkerId))
        {
            Sender.Tell(new RegistrationRejected { Reason = "worker id is empty" });
            return;
        }
        var known = workers.GetValueOrDefault(register.WorkerId);
        if (phase != RunPhase.WaitingForWorkers)
        {
            if (known is not null && known.Agent.Equals(Sender) && known.Start is not null)
            {
                Sender.Tell(known.Start);
                return;
            }
            Sender.Tell(new RegistrationRejected { WorkerId = register.WorkerId, Reason = $"run {settings.RunId} is {phase}; worker {register.WorkerId} is not part of it" });
            return;
        }
        if (known is not null && !known.Agent.Equals(Sender))
        {
            log.Warning("Worker {0} registered again from {1}; replacing {2}.", register.WorkerId, Sender.Path.Address, known.Agent.Path.Address);
            Context.Unwatch(known.Agent);
        }
        if (known is null || !known.Agent.Equals(Sender))
        {
            workers[register.WorkerId] = new WorkerEntry(register, Sender);
            Context.Watch(Sender);
            PublishSoon();
        }
        if (workers.Count == settings.WorldSize)
        {
            Timers.Cancel(nameof(RendezvousDeadline));
            StartStage(settings.StartAt);
        }
    }

    /// <summary>
    /// Sends every worker stage <paramref name="index"/> as generation <c>Generation + (index - StartAt)</c>: ranks by
    /// worker id (the first time; later stages keep them), the same peer table, the stage's freshly prepared config.
    /// </summary>
    private void StartStage(int index)
    {
        var stage = schedule[index];
        ReadOnlyMemory<byte> config;
        try
        {
            config = stage.Prepare();
        }
        catch (Exception e)
        {
            stageIndex = index;
            phase = RunPhase.Running;
            Fail($"stage '{stage.Name}' cannot start: {e.Message}", null);
            return;
        }
        var ranked = index == settings.StartAt
            ? workers.Values.OrderBy(w => w.Registration.WorkerId, WorkerIdComparer.Instance).ToList()
            : workers.Values.OrderBy(w => w.Rank).ToList();
        var peers = ranked.Select((w, rank) => new Peer
        {
            Rank = rank,
            WorkerId = w.Registration.WorkerId,
            CollectiveAddress = w.Registration.CollectiveAddress,
            AkkaAddress = w.Agent.Path.Address.ToString(),
        }).ToList();
        if (index > settings.StartAt)
        {
            ledger.Tell(new BeginStageLedger(index));
        }
        stageIndex = index;
        generation = settings.Generation + (index - settings.StartAt);
        stages[index] = stages[index] with { State = StageState.Running, Generation = generation, StartedAt = DateTimeOffset.UtcNow };
        votes.Clear();
        var stageConfig = ByteString.CopyFrom(config.Span);
        for (var rank = 0; rank < ranked.Count; rank++)
        {
            var start = new StartGeneration
            {
                RunId = settings.RunId,
                Generation = generation,
                Rank = rank,
                WorldSize = settings.WorldSize,
                StageConfig = stageConfig,
            };
            start.Peers.AddRange(peers);
            ranked[rank].Rank = rank;
            ranked[rank].Start = start;
            ranked[rank].Finished = false;
            ranked[rank].Progress = null;
            ranked[rank].Agent.Tell(start);
        }
        phase = RunPhase.Running;
        log.Info("Run {0} stage {1} '{2}' started as generation {3} with {4} workers: {5}.", settings.RunId, index, stage.Name,
            generation, ranked.Count, string.Join(", ", peers.Select(p => $"{p.Rank}={p.WorkerId}")));
        Publish();
    }

    private void HandleRequestShard(RequestShard request)
    {
        if (RefuseUnlessRunning())
        {
            return;
        }
        ledger.Forward(request);
    }

    private void HandleShardCompleted(ShardCompleted completed)
    {
        if (phase == RunPhase.Running)
        {
            ledger.Forward(completed);
        }
    }

    private void HandleProgress(ReportProgress progress)
    {
        if (workers.TryGetValue(progress.WorkerId, out var worker))
        {
            worker.Progress = progress;
            worker.LastReportAt = DateTimeOffset.UtcNow;
            PublishSoon();
        }
    }

    private void HandleCommitVote(CommitCheckpoint vote)
    {
        if (RefuseUnlessRunning() || !workers.ContainsKey(vote.WorkerId))
        {
            return;
        }
        if (!votes.TryGetValue(vote.Step, out var commit))
        {
            commit = new CommitVotes();
            votes[vote.Step] = commit;
        }
        commit.Voters.Add(vote.WorkerId);
        if (!string.IsNullOrEmpty(vote.Path))
        {
            commit.Path ??= vote.Path;
        }
        if (commit.Voters.Count == settings.WorldSize && !commit.Sent)
        {
            commit.Sent = true;
            ledger.Tell(new CommitLedger(vote.Step));
        }
    }

    private void HandleLedgerCommitted(LedgerCommitted committed)
    {
        if (!votes.Remove(committed.Step, out var commit) || phase != RunPhase.Running)
        {
            return;
        }
        stages[stageIndex] = stages[stageIndex] with { LastCommittedStep = committed.Step, LastCommittedPath = commit.Path };
        var message = new CheckpointCommitted { Step = committed.Step, Path = commit.Path ?? "", Ledger = committed.Snapshot };
        foreach (var worker in workers.Values)
        {
            worker.Agent.Tell(message);
        }
        Publish();
    }

    private void HandleWorkerFailed(WorkerFailed failed)
    {
        if (phase != RunPhase.Running || !workers.TryGetValue(failed.WorkerId, out var worker))
        {
            log.Warning("Worker {0} reported a failure outside a running stage: {1}", failed.WorkerId, failed.Reason);
            return;
        }
        if (failed.HasLostPeerRank && failed.LostPeerRank != worker.Rank
            && workers.Values.FirstOrDefault(w => w.Rank == failed.LostPeerRank) is { } lost)
        {
            // A survivor's collectives broke because a peer is gone: lead with the peer, say who noticed.
            Fail($"{Describe(lost)} was lost mid-run{DuringStage}: {Describe(worker)} lost its collective stream to it ({failed.Reason})", lost);
            // The run is over and its peers gave up on it: down it now rather than when the failure detector agrees,
            // so everyone else's leave converges at once (a live one, cut off, shuts itself down on being downed).
            if (InCluster)
            {
                log.Info("Downing {0}: the run failed on losing it.", lost.Agent.Path.Address);
                Cluster.Get(Context.System).Down(lost.Agent.Path.Address);
            }
            return;
        }
        Fail($"{Describe(worker)} failed{DuringStage}: {failed.Reason}", worker);
    }

    /// <summary>How a failure names a worker: <c>worker ID (rank R, AKKA-ADDRESS)</c>.</summary>
    private static string Describe(WorkerEntry worker) =>
        $"worker {worker.Registration.WorkerId} (rank {worker.Rank}, {worker.Agent.Path.Address})";

    /// <summary>" during stage 'NAME'" when the run has more than one stage, else empty.</summary>
    private string DuringStage => schedule.Count > 1 ? $" during stage '{schedule[stageIndex].Name}'" : "";

    private void HandleWorkerFinished(WorkerFinished finished)
    {
        if (phase != RunPhase.Running || !workers.TryGetValue(finished.WorkerId, out var worker))
        {
            return;
        }
        worker.Finished = true;
        if (workers.Values.All(w => w.Finished))
        {
            stages[stageIndex] = stages[stageIndex] with { State = StageState.Done };
            if (stageIndex + 1 < schedule.Count)
            {
                log.Info("Run {0}: every worker finished stage '{1}'.", settings.RunId, schedule[stageIndex].Name);
                Publish();
                StartStage(stageIndex + 1);
                return;
            }
            phase = RunPhase.Finished;
            var message = new RunFinished { RunId = settings.RunId, Generation = generation };
            foreach (var each in workers.Values)
            {
                each.Agent.Tell(message);
            }
            End(true, $"run {settings.RunId} finished: {workers.Count} workers done");
            return;
        }
        PublishSoon();
    }

    private void HandleLedgerStats(LedgerStats stats)
    {
        if (stats.Stage >= 0 && stats.Stage < stages.Length)
        {
            stages[stats.Stage] = stages[stats.Stage] with { Ledger = stats };
            PublishSoon();
        }
    }

    private void HandleAbort(AbortRun abort)
    {
        if (phase is RunPhase.WaitingForWorkers or RunPhase.Running)
        {
            Fail(abort.Reason, null);
        }
        Sender.Tell(Snapshot());
    }

    private void HandleRendezvousDeadline()
    {
        if (phase == RunPhase.WaitingForWorkers)
        {
            var registered = string.Join(", ", workers.Keys.Order(WorkerIdComparer.Instance));
            Fail($"only {workers.Count} of {settings.WorldSize} workers registered within {settings.RendezvousTimeout?.TotalSeconds:0.#} s" +
                (workers.Count > 0 ? $" ({registered})" : ""), null);
        }
    }

    private void HandleSubscribe(SubscribeRunStatus subscribe)
    {
        subscribers.Add(subscribe.Subscriber);
        Context.Watch(subscribe.Subscriber);
        subscribe.Subscriber.Tell(Snapshot());
    }

    private void HandleTerminated(Terminated terminated)
    {
        subscribers.Remove(terminated.ActorRef);
        if (terminated.ActorRef.Equals(ledger))
        {
            Fail("the shard ledger stopped", null);
            return;
        }
        var worker = workers.Values.FirstOrDefault(w => w.Agent.Equals(terminated.ActorRef));
        if (worker is not null)
        {
            WorkerLost(worker, "terminated");
        }
    }

    private void HandleMemberEvent(ClusterEvent.IMemberEvent memberEvent)
    {
        switch (memberEvent)
        {
            case ClusterEvent.MemberLeft or ClusterEvent.MemberExited:
                HandleMemberLost(memberEvent.Member, "left the cluster");
                break;
            case ClusterEvent.MemberRemoved:
                HandleMemberLost(memberEvent.Member, "was removed from the cluster");
                break;
        }
    }

    private void HandleMemberLost(Member member, string what)
    {
        var cluster = Cluster.Get(Context.System);
        if (member.Address.Equals(cluster.SelfAddress) || cluster.SelfMember.Status is MemberStatus.Leaving or MemberStatus.Exiting or MemberStatus.Down or MemberStatus.Removed)
        {
            // Our own leave (or downing) clears the membership: that is no worker's fault.
            Fail($"the coordinator {what}", null);
            return;
        }
        foreach (var worker in workers.Values.Where(w => w.Agent.Path.Address.Equals(member.Address)).ToList())
        {
            WorkerLost(worker, what);
        }
    }

    private void WorkerLost(WorkerEntry worker, string what)
    {
        var id = worker.Registration.WorkerId;
        if (phase == RunPhase.WaitingForWorkers)
        {
            log.Warning("Worker {0} {1} before the run started; waiting for another.", id, what);
            workers.Remove(id);
            Context.Unwatch(worker.Agent);
            PublishSoon();
            return;
        }
        if (phase == RunPhase.Running)
        {
            Fail($"{Describe(worker)} {what} mid-run{DuringStage}", worker);
        }
    }

    private void Fail(string reason, WorkerEntry? culprit)
    {
        if (phase is RunPhase.Finished or RunPhase.Failed)
        {
            return;
        }
        if (phase == RunPhase.Running && stages[stageIndex].State is StageState.Pending or StageState.Running)
        {
            stages[stageIndex] = stages[stageIndex] with { State = StageState.Failed, Error = reason };
        }
        phase = RunPhase.Failed;
        failureReason = reason;
        var message = new RunFailed
        {
            RunId = settings.RunId,
            Generation = generation,
            Reason = reason,
            WorkerId = culprit?.Registration.WorkerId ?? "",
            WorkerAddress = culprit?.Agent.Path.Address.ToString() ?? "",
        };
        foreach (var survivor in workers.Values.Where(w => w != culprit))
        {
            survivor.Agent.Tell(message);
        }
        log.Error("Run {0} failed: {1}", settings.RunId, reason);
        End(false, $"run {settings.RunId} failed: {reason}");
    }

    private void End(bool succeeded, string message)
    {
        var snapshot = Publish();
        foreach (var member in InCluster ? Cluster.Get(Context.System).State.Unreachable : [])
        {
            DownWhenOver(member);
        }
        onOutcome(new RunOutcome(succeeded, message, snapshot));
    }

    /// <summary>Whether this actor system is a cluster member (the actor specs run it without one).</summary>
    private static bool InCluster => ((ExtendedActorSystem)Context.System).Provider is IClusterActorRefProvider;

    private void HandleUnreachable(ClusterEvent.UnreachableMember unreachable)
    {
        HandleMemberLost(unreachable.Member, "became unreachable");
        DownWhenOver(unreachable.Member);
    }

    /// <summary>
    /// Once the run is over, a member that is (or becomes) unreachable, such as a killed worker, is downed at once rather
    /// than after the split-brain resolver's stable-after: until it is down no member's graceful leave converges, and
    /// every process's shutdown sits in Akka's cluster-exiting phase until that phase times out.
    /// </summary>
    private void DownWhenOver(Member member)
    {
        if (phase is RunPhase.Finished or RunPhase.Failed && !member.Address.Equals(Cluster.Get(Context.System).SelfAddress))
        {
            log.Info("Downing unreachable member {0}: the run is over.", member.Address);
            Cluster.Get(Context.System).Down(member.Address);
        }
    }

    private bool RefuseUnlessRunning()
    {
        if (phase == RunPhase.Running)
        {
            return false;
        }
        if (phase == RunPhase.Failed)
        {
            Sender.Tell(new RunFailed { RunId = settings.RunId, Generation = generation, Reason = failureReason ?? "" });
        }
        else if (phase == RunPhase.Finished)
        {
            Sender.Tell(new RunFinished { RunId = settings.RunId, Generation = generation });
        }
        return true;
    }

    private void PublishSoon()
    {
        if (!publishPending && subscribers.Count > 0)
        {
            publishPending = true;
            Timers.StartSingleTimer(PublishDue.Instance, PublishDue.Instance, PublishInterval);
        }
    }

    private RunStatus Publish()
    {
        publishPending = false;
        Timers.Cancel(PublishDue.Instance);
        var snapshot = Snapshot();
        foreach (var subscriber in subscribers)
        {
            subscriber.Tell(snapshot);
        }
        return snapshot;
    }

    private RunStatus Snapshot() => new(
        settings.RunId,
        generation,
        phase,
        settings.WorldSize,
        workers.Values.OrderBy(w => w.Rank < 0 ? int.MaxValue : w.Rank).ThenBy(w => w.Registration.WorkerId, WorkerIdComparer.Instance)
            .Select(w => w.Status()).ToList(),
        stages[stageIndex].Ledger,
        stages[stageIndex].LastCommittedStep,
        stages[stageIndex].LastCommittedPath,
        failureReason,
        DateTimeOffset.UtcNow)
    {
        Stages = stages.ToArray(),
        StageIndex = stageIndex,
    };

    private static void IgnoreOutcome(RunOutcome outcome) { }

    private sealed class RendezvousDeadline
    {
        public static readonly RendezvousDeadline Instance = new();

        private RendezvousDeadline() { }
    }

    private sealed class WorkerEntry(RegisterWorker registration, IActorRef agent)
    {
        public RegisterWorker Registration { get; } = registration;
        public IActorRef Agent { get; } = agent;
        public int Rank { get; set; } = -1;
        public StartGeneration? Start { get; set; }
        public ReportProgress? Progress { get; set; }
        public DateTimeOffset? LastReportAt { get; set; }
        public bool Finished { get; set; }

        public WorkerStatus Status() => new(
            Registration.WorkerId, Rank, Agent.Path.Address.ToString(), Registration.CollectiveAddress, Registration.Device,
            Registration.Threads, Progress, Finished, LastReportAt);
    }

    private sealed class PublishDue
    {
        public static readonly PublishDue Instance = new();

        private PublishDue() { }
    }

    private sealed class CommitVotes
    {
        public HashSet<string> Voters { get; } = new(StringComparer.Ordinal);
        public string? Path { get; set; }
        public bool Sent { get; set; }
    }
}
