using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Google.Protobuf;
using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Grpc.Journal;
using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Actors;

/// <summary>
/// The coordinator's run: rendezvous (waits for the world size of <see cref="RegisterWorker"/>, assigns ranks by
/// worker id, sends every worker the same peer table in <see cref="StartGeneration"/>), then the single address
/// workers talk to: shard requests and completions go to the ledger, progress goes into the <see cref="RunStatus"/>
/// for subscribers, checkpoint votes become ledger commits. The run is a schedule of stages over the same workers: when
/// every worker reported <see cref="WorkerFinished"/> for a stage (a barrier; its final checkpoint is committed by then),
/// the next stage starts as the next generation with the same ranks and peer table and a fresh shard ledger; the run
/// finishes after the last stage.
/// <para>
/// A state machine, one behaviour per phase (<see cref="WaitingForWorkers"/>, <see cref="Running"/>,
/// <see cref="Recovering"/>, <see cref="Ended"/>). With recovery disabled a worker that becomes unreachable, leaves,
/// terminates or fails mid-run fails the run: every surviving worker gets <see cref="RunFailed"/> naming it. With
/// recovery enabled (docs/fault-tolerance.md) a lost worker is downed, the survivors abort the generation and report the
/// step they completed, the ledger keeps the steps up to the latest one some survivor completed, and the next
/// generation starts with a replacement or fewer workers; every rank takes the training state of a survivor that
/// completed that step.
/// </para>
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
    private readonly IActorRef? journal;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<string, WorkerEntry> workers = new(StringComparer.Ordinal);

    /// <summary>The Kubernetes Jobs of every worker this run admitted (RegisterWorker.job_uid), for summary.json.</summary>
    private readonly SortedSet<string> workerJobs = new(StringComparer.Ordinal);
    private readonly Dictionary<long, CommitVotes> votes = [];
    private readonly HashSet<IActorRef> subscribers = [];
    private readonly IReadOnlyList<ScheduledStage> schedule;
    private readonly StageStatus[] stages;
    private readonly List<RecoverySummary> recoveries = [];
    private readonly Queue<DateTimeOffset> recentFailures = new();
    private RunPhase phase = RunPhase.WaitingForWorkers;
    private int stageIndex;
    private long generation;
    private bool started;
    private string? failureReason;
    private bool publishPending;
    private Recovery? recovery;

    /// <summary>The latest step a member of the current generation started (its <see cref="StepStarted"/>); a drain's step.</summary>
    private long latestStarted;

    public RunActor(RunSettings settings, IActorRef ledger, Action<RunOutcome> onOutcome, IActorRef? journal = null)
    {
        this.settings = settings;
        this.ledger = ledger;
        this.onOutcome = onOutcome;
        this.journal = journal;
        schedule = settings.Schedule;
        stages = schedule.Select((stage, i) => new StageStatus(stage.Name, i < settings.StartAt ? StageState.Done : StageState.Pending,
            null, LedgerStats.Empty, null, null, null)).ToArray();
        stageIndex = settings.StartAt;
        generation = settings.Generation - 1;
        WaitingForWorkers();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="journal">The run journal (<see cref="RunJournalActor"/>) that records stages, generations, commits and
    /// recoveries so a restarted coordinator can continue; null: none.</param>
    public static Props Props(RunSettings settings, IActorRef ledger, Action<RunOutcome>? onOutcome = null, IActorRef? journal = null)
    {
        var callback = onOutcome ?? IgnoreOutcome;
        return Akka.Actor.Props.Create(() => new RunActor(settings, ledger, callback, journal));
    }

    /// <summary>Records an event in the run journal, when there is one (asynchronously: a commit the journal lost is only a
    /// commit a restart does not continue from; the checkpoint before it still has its ledger).</summary>
    private void Journal(Google.Protobuf.IMessage message) => journal?.Tell(message, Self);

    private RecoverySettings RecoveryPolicy => settings.Recovery;

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

    // ---------------------------------------------------------------- behaviours, one per phase

    /// <summary>Before the first generation: registrations until the world size (or, elastic, the minimum) is there.</summary>
    private void WaitingForWorkers()
    {
        phase = RunPhase.WaitingForWorkers;
        Receive<RegisterWorker>(HandleRegisterBeforeStart);
        Receive<RendezvousDeadline>(_ => HandleRendezvousDeadline());
        Receive<ElasticStartDue>(_ => TryElasticStart());
        Receive<WorkerFailed>(failed => log.Warning("Worker {0} reported a failure before the run started: {1}", failed.WorkerId, failed.Reason));
        ReceiveWorkerLoss();
        ReceiveCommon();
    }

    /// <summary>A generation trains: shards, progress, commits; a loss starts a recovery (or fails the run).</summary>
    private void Running()
    {
        phase = RunPhase.Running;
        ReceiveTraining();
        Receive<GenerationAborted>(HandleAbortedWhileRunning);
        ReceiveWorkerLoss();
        ReceiveCommon();
    }

    /// <summary>What a training generation needs, while it runs or drains: shards, steps, progress, commits.</summary>
    private void ReceiveTraining()
    {
        Receive<RegisterWorker>(HandleRegisterWhileRunning);
        Receive<RequestShard>(request => ledger.Forward(request));
        Receive<StepStarted>(HandleStepStarted);
        Receive<ShardCompleted>(HandleShardCompleted);
        Receive<ReportProgress>(HandleProgress);
        Receive<CommitCheckpoint>(HandleCommitVote);
        Receive<LedgerCommitted>(HandleLedgerCommitted);
        Receive<WorkerFinished>(HandleWorkerFinished);
        Receive<WorkerFailed>(HandleWorkerFailed);
    }

    /// <summary>
    /// The world grows (a worker registered while a generation trains): the members were told to finish up to the latest
    /// step any of them started and stop at its boundary (<see cref="DrainGeneration"/>); meanwhile they are served as in
    /// <see cref="Running"/>. When every member stopped (or the drain deadline passed, and the rest are aborted), the
    /// recovery re-forms the larger generation; a loss during the drain turns it into an ordinary recovery.
    /// </summary>
    private void Draining()
    {
        phase = RunPhase.Draining;
        ReceiveTraining();
        Receive<GenerationAborted>(HandleDrained);
        Receive<DrainDeadline>(_ => HandleDrainDeadline());
        ReceiveWorkerLoss();
        ReceiveCommon();
    }

    /// <summary>
    /// The generation is being aborted: survivors confirm with the step they completed, replacements may register, the
    /// ledger rolls back to the kept step, then the next generation starts.
    /// </summary>
    private void Recovering()
    {
        phase = RunPhase.Recovering;
        Receive<RegisterWorker>(HandleRegisterWhileRunning);
        Receive<RequestShard>(request => Sender.Tell(new NoShardAvailable { RequestId = request.RequestId, Epoch = request.Epoch, RetryAfterMs = 200 }));
        Receive<StepStarted>(HandleStepStarted);
        Receive<ShardCompleted>(HandleShardCompleted);
        Receive<ReportProgress>(HandleProgress);
        Receive<CommitCheckpoint>(vote => log.Info("Worker {0}: commit vote for step {1} ignored during a recovery.", vote.WorkerId, vote.Step));
        Receive<LedgerCommitted>(_ => { });
        Receive<WorkerFinished>(finished => log.Info("Worker {0} finished during a recovery; it will be told the next generation.", finished.WorkerId));
        Receive<WorkerFailed>(HandleWorkerFailed);
        Receive<GenerationAborted>(HandleAbortConfirmed);
        Receive<AbortTimeout>(HandleAbortTimeout);
        Receive<ReplacementDeadline>(_ => ProceedWithRecovery(replacementWaitOver: true));
        Receive<LedgerRecovered>(HandleLedgerRecovered);
        ReceiveWorkerLoss();
        ReceiveCommon();
    }

    /// <summary>The run finished or failed: workers that still talk are told so.</summary>
    private void Ended()
    {
        Receive<RegisterWorker>(HandleRegisterAfterEnd);
        Receive<RequestShard>(_ => TellEnd(Sender));
        Receive<CommitCheckpoint>(_ => TellEnd(Sender));
        Receive<AbortRun>(_ => Sender.Tell(Snapshot()));
        Receive<ClusterEvent.UnreachableMember>(unreachable => DownWhenOver(unreachable.Member));
        Receive<Terminated>(terminated => subscribers.Remove(terminated.ActorRef));
        ReceiveStatus();
        Receive<RunEventRecorded>(_ => { });
        ReceiveAny(_ => { });
    }

    /// <summary>
    /// A worker registering after a successful end (a lost worker's replacement that came up late) hears that the run
    /// finished, so it exits as done; after a failure it is rejected.
    /// </summary>
    private void HandleRegisterAfterEnd(RegisterWorker register)
    {
        if (phase == RunPhase.Finished)
        {
            log.Warning("Worker {0} registered after run {1} finished (a late replacement): told it the run is done.", register.WorkerId, settings.RunId);
            Sender.Tell(new RunFinished { RunId = settings.RunId, Generation = generation });
            return;
        }
        Sender.Tell(new RegistrationRejected { WorkerId = register.WorkerId, Reason = $"run {settings.RunId} is {phase}" });
    }

    private void ReceiveWorkerLoss()
    {
        Receive<Terminated>(HandleTerminated);
        Receive<ClusterEvent.UnreachableMember>(unreachable => HandleMemberLost(unreachable.Member, "became unreachable"));
        Receive<ClusterEvent.IMemberEvent>(HandleMemberEvent);
    }

    private void ReceiveCommon()
    {
        Receive<LedgerStats>(HandleLedgerStats);
        Receive<LedgerFault>(fault => Fail(fault.Reason, null));
        Receive<AbortRun>(HandleAbort);
        ReceiveStatus();
    }

    private void ReceiveStatus()
    {
        Receive<GetRunStatus>(_ => Sender.Tell(Snapshot()));
        Receive<SubscribeRunStatus>(HandleSubscribe);
        Receive<UnsubscribeRunStatus>(unsubscribe => subscribers.Remove(unsubscribe.Subscriber));
        Receive<PublishDue>(_ => Publish());
        Receive<RunEventRecorded>(_ => { });
        Receive<RunEventRejected>(rejected => log.Warning("The run journal refused {0}: {1}", rejected.Event.Descriptor.Name, rejected.Reason));
    }

    // ---------------------------------------------------------------- registration

    private void HandleRegisterBeforeStart(RegisterWorker register)
    {
        if (!Registrable(register))
        {
            return;
        }
        var known = workers.GetValueOrDefault(register.WorkerId);
        if (known is not null && !known.Agent.Equals(Sender))
        {
            log.Warning("Worker {0} registered again from {1}; replacing {2}.", register.WorkerId, Sender.Path.Address, known.Agent.Path.Address);
            Context.Unwatch(known.Agent);
        }
        if (known is null || !known.Agent.Equals(Sender))
        {
            Admit(register);
            PublishSoon();
        }
        if (workers.Count >= settings.WorldSize)
        {
            Timers.Cancel(nameof(RendezvousDeadline));
            Timers.Cancel(nameof(ElasticStartDue));
            StartStage(settings.StartAt);
        }
        else if (RecoveryPolicy.Enabled && workers.Count >= RecoveryPolicy.MinWorkers && !Timers.IsTimerActive(nameof(ElasticStartDue)))
        {
            // Elastic start: enough workers to train; wait a little for the rest, then go with what is there.
            Timers.StartSingleTimer(nameof(ElasticStartDue), ElasticStartDue.Instance, RecoveryPolicy.ReplacementWait);
        }
    }

    private void TryElasticStart()
    {
        if (workers.Count >= RecoveryPolicy.MinWorkers)
        {
            log.Warning("Run {0} starts with {1} of {2} workers (min_workers {3}); it grows when more register.",
                settings.RunId, workers.Count, settings.WorldSize, RecoveryPolicy.MinWorkers);
            Timers.Cancel(nameof(RendezvousDeadline));
            StartStage(settings.StartAt);
        }
    }

    /// <summary>
    /// While running or recovering: a member's repeated registration gets its generation again; a new worker (or a
    /// replacement for a lost one, under the same id) waits to join the next generation when the run has room; else it
    /// is refused.
    /// </summary>
    private void HandleRegisterWhileRunning(RegisterWorker register)
    {
        if (!Registrable(register))
        {
            return;
        }
        var known = workers.GetValueOrDefault(register.WorkerId);
        if (known is not null && known.Agent.Equals(Sender))
        {
            if (known.Start is not null)
            {
                Sender.Tell(known.Start);
            }
            return;
        }
        if (known is not null || !RecoveryPolicy.Enabled || workers.Count >= settings.WorldSize)
        {
            var why = known is not null
                ? $"worker {register.WorkerId} is already a member from {known.Agent.Path.Address}"
                : !RecoveryPolicy.Enabled
                    ? $"run {settings.RunId} is {phase} and does not take new workers (recovery is off)"
                    : $"run {settings.RunId} has its {settings.WorldSize} workers";
            Sender.Tell(new RegistrationRejected { WorkerId = register.WorkerId, Reason = why });
            return;
        }
        Admit(register);
        log.Info("Worker {0} registered from {1} to join the next generation.", register.WorkerId, Sender.Path.Address);
        PublishSoon();
        if (phase == RunPhase.Recovering)
        {
            ProceedWithRecovery(replacementWaitOver: false);
        }
        else if (phase == RunPhase.Draining)
        {
            // It joins the generation the drain leads to.
        }
        else if (workers.Values.Any(w => w.Finished))
        {
            // Between two stages' barriers: it joins when the next stage starts.
        }
        else
        {
            BeginDrain($"worker {register.WorkerId} joined: growing to {workers.Count} workers");
        }
    }

    /// <summary>
    /// Takes the sender in as the worker of <paramref name="register"/>'s id, watched, its Kubernetes Job noted for
    /// summary.json.
    /// </summary>
    private void Admit(RegisterWorker register)
    {
        workers[register.WorkerId] = new WorkerEntry(register, Sender);
        if (!string.IsNullOrEmpty(register.JobUid))
        {
            workerJobs.Add(register.JobUid);
        }
        Context.Watch(Sender);
    }

    private bool Registrable(RegisterWorker register)
    {
        if (string.IsNullOrWhiteSpace(register.WorkerId))
        {
            Sender.Tell(new RegistrationRejected { Reason = "worker id is empty" });
            return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- generations

    /// <summary>
    /// Sends every worker stage <paramref name="index"/> as a new generation: ranks by worker id at the run's start (later
    /// stages keep the members' order, joiners last), the same peer table, the stage's freshly prepared config.
    /// </summary>
    private void StartStage(int index)
    {
        var stage = schedule[index];
        ReadOnlyMemory<byte> config;
        stageIndex = index;
        try
        {
            config = stage.Prepare();
        }
        catch (Exception e)
        {
            Become(Running);
            Fail($"stage '{stage.Name}' cannot start: {e.Message}", null);
            return;
        }
        if (started)
        {
            ledger.Tell(new BeginStageLedger(index));
        }
        started = true;
        var ranked = !workers.Values.Any(w => w.Rank >= 0)
            ? workers.Values.OrderBy(w => w.Registration.WorkerId, WorkerIdComparer.Instance).ToList()
            : Ranked();
        SendGeneration(ranked, config, null);
        Journal(new StageStarted { StageIndex = index, StageName = stage.Name, Generation = generation });
        JournalGeneration(ranked);
        stages[index] = stages[index] with { State = StageState.Running, Generation = generation, StartedAt = DateTimeOffset.UtcNow };
        log.Info("Run {0} stage {1} '{2}' started as generation {3} with {4} workers: {5}.", settings.RunId, index, stage.Name,
            generation, ranked.Count, string.Join(", ", ranked.Select(w => $"{w.Rank}={w.Registration.WorkerId}")));
        Become(Running);
        Publish();
    }

    private void JournalGeneration(List<WorkerEntry> ranked)
    {
        var started = new GenerationStarted { Generation = generation, WorldSize = ranked.Count };
        started.Members.AddRange(ranked.Select(w => new MemberRank { WorkerId = w.Registration.WorkerId, Rank = w.Rank }));
        Journal(started);
    }

    /// <summary>Members in rank order: the current generation's first, by rank, then joiners by id.</summary>
    private List<WorkerEntry> Ranked() => workers.Values
        .OrderBy(w => w.Rank < 0 ? 1 : 0)
        .ThenBy(w => w.Rank)
        .ThenBy(w => w.Registration.WorkerId, WorkerIdComparer.Instance)
        .ToList();

    private void SendGeneration(List<WorkerEntry> ranked, ReadOnlyMemory<byte> config, GenerationRecovery? recovered)
    {
        generation++;
        latestStarted = 0;
        votes.Clear();
        var peers = ranked.Select((w, rank) => new Peer
        {
            Rank = rank,
            WorkerId = w.Registration.WorkerId,
            CollectiveAddress = w.Registration.CollectiveAddress,
            AkkaAddress = w.Agent.Path.Address.ToString(),
        }).ToList();
        var stageConfig = ByteString.CopyFrom(config.Span);
        var rowsPerStep = schedule[stageIndex].RowsPerStep;
        ledger.Tell(new BeginLedgerGeneration(generation, ranked.Select((w, rank) => (w.Registration.WorkerId, Rows: rowsPerStep?.Invoke(ranked.Count, rank) ?? 1))
            .ToDictionary(w => w.WorkerId, w => w.Rows)));
        for (var rank = 0; rank < ranked.Count; rank++)
        {
            var start = new StartGeneration
            {
                RunId = settings.RunId,
                Generation = generation,
                Rank = rank,
                WorldSize = ranked.Count,
                StageConfig = stageConfig,
                StageIndex = stageIndex,
                Recovery = recovered,
                CoordinatorWaitMs = settings.Recovery.Enabled ? (long)settings.Recovery.CoordinatorWait.TotalMilliseconds : 0,
            };
            start.Peers.AddRange(peers);
            ranked[rank].Rank = rank;
            ranked[rank].Start = start;
            ranked[rank].Finished = false;
            ranked[rank].Progress = null;
            ranked[rank].Agent.Tell(start);
        }
    }

    // ---------------------------------------------------------------- running

    private void HandleStepStarted(StepStarted started)
    {
        if (started.Generation != generation || !workers.ContainsKey(started.WorkerId))
        {
            return;
        }
        latestStarted = Math.Max(latestStarted, started.Step);
        ledger.Forward(started);
        if (recovery is null && recoveries.Count > 0 && recoveries[^1] is { } last && last.GenerationAfter == generation)
        {
            // The first steps of the generation after a recovery: when its state was in place, and when a step was trained.
            var elapsed = (DateTimeOffset.UtcNow - last.NoticedAt).TotalMilliseconds;
            if (last.TransferMs is null && started.Step == last.Step + 1)
            {
                recoveries[^1] = last with { TransferMs = elapsed };
            }
            else if (last.FirstStepMs is null && started.Step >= last.Step + 2)
            {
                recoveries[^1] = last with { FirstStepMs = elapsed, TransferMs = last.TransferMs ?? elapsed };
                log.Info("Run {0}: first step after the recovery at step {1} trained {2:0} ms after the failure was noticed.", settings.RunId, last.Step, elapsed);
                PublishSoon();
            }
        }
    }

    private void HandleShardCompleted(ShardCompleted completed)
    {
        // Reports of an older generation were settled by the recovery that ended it.
        if (completed.Generation == 0 || completed.Generation == generation)
        {
            ledger.Forward(completed);
        }
    }

    private void HandleProgress(ReportProgress progress)
    {
        if (workers.TryGetValue(progress.WorkerId, out var worker) && worker.Rank >= 0)
        {
            worker.Progress = progress;
            worker.LastReportAt = DateTimeOffset.UtcNow;
            PublishSoon();
        }
    }

    private void HandleCommitVote(CommitCheckpoint vote)
    {
        if (!workers.TryGetValue(vote.WorkerId, out var voter) || voter.Rank < 0)
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
        if (commit.Voters.Count == Members.Count && !commit.Sent)
        {
            commit.Sent = true;
            ledger.Tell(new CommitLedger(vote.Step));
        }
    }

    private void HandleLedgerCommitted(LedgerCommitted committed)
    {
        if (!votes.Remove(committed.Step, out var commit))
        {
            return;
        }
        stages[stageIndex] = stages[stageIndex] with { LastCommittedStep = committed.Step, LastCommittedPath = commit.Path };
        Journal(new StepCommitted { StageIndex = stageIndex, Step = committed.Step, CheckpointPath = commit.Path ?? "", Ledger = committed.Snapshot });
        var message = new CheckpointCommitted { Step = committed.Step, Path = commit.Path ?? "", Ledger = committed.Snapshot };
        foreach (var worker in Members)
        {
            worker.Agent.Tell(message);
        }
        Publish();
    }

    private void HandleWorkerFinished(WorkerFinished finished)
    {
        if (!workers.TryGetValue(finished.WorkerId, out var worker) || worker.Rank < 0)
        {
            return;
        }
        worker.Finished = true;
        TryFinishStage();
    }

    /// <summary>When every member finished the stage: the next stage (joiners included), or the end of the run.</summary>
    private void TryFinishStage()
    {
        var members = Members;
        if (members.Count == 0 || !members.All(w => w.Finished))
        {
            PublishSoon();
            return;
        }
        stages[stageIndex] = stages[stageIndex] with { State = StageState.Done };
        Journal(new StageFinished { StageIndex = stageIndex });
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
        var unreplaced = settings.Recovery.Enabled ? Math.Max(0, settings.WorldSize - members.Count) : 0;
        End(true, $"run {settings.RunId} finished: {members.Count} workers done" +
            (recoveries.Count > 0 ? $", {recoveries.Count} recover{(recoveries.Count == 1 ? "y" : "ies")}" : ""),
            unreplaced > 0 ? settings.Recovery.ReplacementWait : TimeSpan.Zero);
    }

    private void HandleWorkerFailed(WorkerFailed failed)
    {
        if (!workers.TryGetValue(failed.WorkerId, out var worker))
        {
            log.Warning("Worker {0} reported a failure outside a running stage: {1}", failed.WorkerId, failed.Reason);
            return;
        }
        if (failed.HasLostPeerRank && failed.LostPeerRank != worker.Rank
            && Members.FirstOrDefault(w => w.Rank == failed.LostPeerRank) is { } lost)
        {
            // A survivor's collectives broke because a peer is gone: lead with the peer, say who noticed.
            var reason = $"{Describe(lost)} was lost mid-run{DuringStage}: {Describe(worker)} lost its collective stream to it ({failed.Reason})";
            // The peer is gone and the survivor gave up too (its error could not be retried): the run fails.
            Down(lost);
            Fail(reason, lost);
            return;
        }
        // An error no retry can cure (a bad spec, weights that do not fit, a corrupt manifest file): the run fails.
        Fail($"{Describe(worker)} failed{DuringStage}: {failed.Reason}", worker);
    }

    /// <summary>
    /// A worker's trainer stopped its generation on an error a new generation can cure (a collective lost a peer or
    /// timed out): lead with the lost peer when the worker names one, else with the worker.
    /// </summary>
    private void HandleAbortedWhileRunning(GenerationAborted aborted)
    {
        if (aborted.Generation != generation || !workers.TryGetValue(aborted.WorkerId, out var worker) || worker.Rank < 0)
        {
            return;
        }
        var lost = aborted.HasLostPeerRank && aborted.LostPeerRank != worker.Rank
            ? Members.FirstOrDefault(w => w.Rank == aborted.LostPeerRank)
            : null;
        var cause = lost is not null
            ? $"{Describe(lost)} was lost{DuringStage}: {Describe(worker)} lost its collective stream to it ({aborted.Reason})"
            : $"{Describe(worker)} stopped its generation{DuringStage}: {aborted.Reason}";
        BeginRecovery(cause, lost is null ? [] : [lost]);
        HandleAbortConfirmed(aborted);
    }

    // ---------------------------------------------------------------- losing workers

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
        if (phase == RunPhase.WaitingForWorkers || worker.Rank < 0)
        {
            log.Warning("Worker {0} {1} before it joined a generation; waiting for another.", id, what);
            Forget(worker);
            PublishSoon();
            return;
        }
        if (phase == RunPhase.Running && RecoveryPolicy.Enabled && Members.Any(w => w.Finished))
        {
            // A stage hand-off: some member finished the stage, so its final commit (voted by every member) is done and
            // the lost worker's part of the stage with it. The next stage goes on without it (joiners fill in).
            log.Warning("{0} {1} after the final commit of stage '{2}'; the next stage starts without it.", Describe(worker), what, schedule[stageIndex].Name);
            Down(worker);
            Forget(worker);
            if (Members.Count < RecoveryPolicy.MinWorkers)
            {
                Fail($"{Describe(worker)} {what} between stages, and {Members.Count} worker(s) are left (min_workers {RecoveryPolicy.MinWorkers})", worker);
                return;
            }
            TryFinishStage();
            return;
        }
        var cause = $"{Describe(worker)} {what} mid-run{DuringStage}";
        if (phase == RunPhase.Recovering)
        {
            recovery!.Causes.Add(cause);
            recovery.Awaiting.Remove(id);   // gone: its confirmation will not come
            Down(worker);
            Forget(worker);
            PublishSoon();
            ProceedWithRecovery(replacementWaitOver: false);
            return;
        }
        if (phase is RunPhase.Running or RunPhase.Draining)
        {
            BeginRecovery(cause, [worker]);   // during a drain: an ordinary recovery, the joiner included
        }
    }

    /// <summary>Drops a worker from the run (it may come back as a new registration, e.g. a restarted process).</summary>
    private void Forget(WorkerEntry worker)
    {
        workers.Remove(worker.Registration.WorkerId);
        Context.Unwatch(worker.Agent);
    }

    /// <summary>
    /// Downs a lost worker's member at once: until it is down no new member (its replacement) can join, and a process
    /// that was only frozen (SIGSTOP) is fenced: when it wakes it finds itself removed and shuts down.
    /// </summary>
    private void Down(WorkerEntry worker)
    {
        if (InCluster && !worker.Agent.Path.Address.Equals(Cluster.Get(Context.System).SelfAddress))
        {
            log.Info("Downing {0} ({1}): given up on.", worker.Registration.WorkerId, worker.Agent.Path.Address);
            Cluster.Get(Context.System).Down(worker.Agent.Path.Address);
        }
    }

    // ---------------------------------------------------------------- recovery

    /// <summary>
    /// Starts a recovery (or fails the run when recovery is off or its budget is spent): the lost workers are downed and
    /// dropped, every other member is told to abort the generation and confirm the step it completed.
    /// </summary>
    /// <summary>
    /// A grow without losing the step in flight: every member is told to train on up to the latest step any member
    /// started (<see cref="latestStarted"/>) and stop there; their confirmations (<see cref="GenerationAborted"/> with that
    /// step) feed the recovery as an abort's would. Members that do not stop within the abort timeout are aborted.
    /// </summary>
    private void BeginDrain(string cause)
    {
        if (!RecoveryPolicy.Enabled)
        {
            BeginRecovery(cause, [], grow: true);
            return;
        }
        log.Info("Run {0}: {1}. Draining generation {2} after step {3}.", settings.RunId, cause, generation, latestStarted);
        recovery = new Recovery(cause, DateTimeOffset.UtcNow, generation, Members.Count, grow: true) { Draining = true, DrainAfter = latestStarted };
        AwaitEveryMember(new DrainGeneration { RunId = settings.RunId, Generation = generation, AfterStep = latestStarted, Reason = cause });
        Timers.StartSingleTimer(nameof(DrainDeadline), DrainDeadline.Instance, RecoveryPolicy.AbortTimeout);
        Become(Draining);
        Publish();
    }

    /// <summary>Tells every member <paramref name="message"/> and awaits each one's <see cref="GenerationAborted"/>.</summary>
    private void AwaitEveryMember(object message)
    {
        foreach (var member in Members)
        {
            recovery!.Awaiting.Add(member.Registration.WorkerId);
            member.Agent.Tell(message);
        }
    }

    private void HandleDrained(GenerationAborted stopped)
    {
        if (recovery is not { Draining: true } drain || stopped.Generation != drain.GenerationBefore || !drain.Awaiting.Remove(stopped.WorkerId))
        {
            return;
        }
        drain.CompletedSteps[stopped.WorkerId] = stopped.CompletedStep;
        if (drain.Awaiting.Count == 0)
        {
            Timers.Cancel(nameof(DrainDeadline));
            drain.Draining = false;
            drain.DrainedCleanly = drain.CompletedSteps.Values.All(step => step >= drain.DrainAfter);
            Become(Recovering);
            Publish();
            ProceedWithRecovery(replacementWaitOver: false);
        }
    }

    /// <summary>Some members did not stop at the drain's step in time: they are aborted, as in any recovery.</summary>
    private void HandleDrainDeadline()
    {
        if (recovery is not { Draining: true } drain)
        {
            return;
        }
        log.Warning("Run {0}: {1} did not stop within {2:0.#} s of the drain; aborting generation {3}.", settings.RunId,
            string.Join(", ", drain.Awaiting), RecoveryPolicy.AbortTimeout.TotalSeconds, generation);
        drain.Draining = false;
        var abort = new AbortGeneration { RunId = settings.RunId, Generation = generation, Reason = drain.Cause };
        foreach (var member in Members.Where(m => drain.Awaiting.Contains(m.Registration.WorkerId)))
        {
            member.Agent.Tell(abort);
        }
        Timers.StartSingleTimer(nameof(AbortTimeout), AbortTimeout.Instance, RecoveryPolicy.AbortTimeout);
        Become(Recovering);
        Publish();
    }

    private void BeginRecovery(string cause, IReadOnlyList<WorkerEntry> lost, bool grow = false)
    {
        Timers.Cancel(nameof(DrainDeadline));   // a loss during a drain: an ordinary recovery from here
        if (!RecoveryPolicy.Enabled)
        {
            foreach (var worker in lost)
            {
                Down(worker);
            }
            Fail(cause, lost.FirstOrDefault());
            return;
        }
        var now = DateTimeOffset.UtcNow;
        if (!grow)
        {
            while (recentFailures.TryPeek(out var oldest) && now - oldest > RecoveryPolicy.Window)
            {
                recentFailures.Dequeue();
            }
            recentFailures.Enqueue(now);
            if (recentFailures.Count > RecoveryPolicy.MaxRestarts)
            {
                var earlier = recoveries.Where(r => !r.Grow && now - r.NoticedAt <= RecoveryPolicy.Window).Select(r => r.Cause);
                Fail($"{cause}; that is more than {RecoveryPolicy.MaxRestarts} recoveries within {RecoveryPolicy.Window.TotalSeconds:0.#} s " +
                    $"(earlier: {string.Join("; ", earlier)})", lost.FirstOrDefault());
                return;
            }
        }
        log.Warning("Run {0}: {1}. Recovering generation {2}.", settings.RunId, cause, generation);
        var worldBefore = Members.Count;
        foreach (var worker in lost)
        {
            Down(worker);
            Forget(worker);
        }
        recovery = new Recovery(cause, now, generation, worldBefore, grow);
        AwaitEveryMember(new AbortGeneration { RunId = settings.RunId, Generation = generation, Reason = cause });
        Timers.StartSingleTimer(nameof(AbortTimeout), AbortTimeout.Instance, RecoveryPolicy.AbortTimeout);
        Become(Recovering);
        Publish();
        ProceedWithRecovery(replacementWaitOver: false);
    }

    private void HandleAbortConfirmed(GenerationAborted aborted)
    {
        if (recovery is null || aborted.Generation != recovery.GenerationBefore || !recovery.Awaiting.Remove(aborted.WorkerId))
        {
            return;
        }
        recovery.CompletedSteps[aborted.WorkerId] = aborted.CompletedStep;
        ProceedWithRecovery(replacementWaitOver: false);
    }

    private void HandleAbortTimeout(AbortTimeout _)
    {
        if (recovery is null || recovery.Awaiting.Count == 0)
        {
            return;
        }
        foreach (var id in recovery.Awaiting.ToList())
        {
            if (workers.TryGetValue(id, out var silent))
            {
                recovery.Causes.Add($"{Describe(silent)} did not confirm the abort within {RecoveryPolicy.AbortTimeout.TotalSeconds:0.#} s");
                Down(silent);
                Forget(silent);
            }
        }
        recovery.Awaiting.Clear();
        ProceedWithRecovery(replacementWaitOver: false);
    }

    /// <summary>
    /// Once every survivor confirmed the abort: goes on when the world is full again, or when the replacement wait is over
    /// with at least min_workers; fails when too few are left.
    /// </summary>
    private void ProceedWithRecovery(bool replacementWaitOver)
    {
        if (recovery is null || recovery.Awaiting.Count > 0 || recovery.LedgerAsked)
        {
            return;
        }
        recovery.AbortedAt ??= DateTimeOffset.UtcNow;
        var count = workers.Count;
        if (count < settings.WorldSize && !replacementWaitOver && !recovery.Grow)
        {
            if (!Timers.IsTimerActive(nameof(ReplacementDeadline)))
            {
                Timers.StartSingleTimer(nameof(ReplacementDeadline), ReplacementDeadline.Instance, RecoveryPolicy.ReplacementWait);
            }
            return;
        }
        Timers.Cancel(nameof(ReplacementDeadline));
        Timers.Cancel(nameof(AbortTimeout));
        if (count < RecoveryPolicy.MinWorkers)
        {
            Fail($"{recovery.Cause}; {count} worker(s) left, fewer than min_workers {RecoveryPolicy.MinWorkers}" +
                (recovery.Causes.Count > 0 ? $" ({string.Join("; ", recovery.Causes)})" : ""), null);
            return;
        }
        // The latest step some survivor completed is kept: it is applied on every rank of the new generation.
        var holders = recovery.CompletedSteps.Where(kv => kv.Value >= 0 && workers.ContainsKey(kv.Key)).ToList();
        recovery.Step = holders.Count == 0 ? -1 : holders.Max(kv => kv.Value);
        recovery.LedgerAsked = true;
        ledger.Tell(new RecoverLedger(recovery.Step));
    }

    private void HandleLedgerRecovered(LedgerRecovered recovered)
    {
        if (recovery is null)
        {
            return;
        }
        var current = recovery;
        recovery = null;
        var ranked = Ranked();
        var kept = current.Step;
        var source = ranked.FindIndex(w => current.CompletedSteps.TryGetValue(w.Registration.WorkerId, out var step) && step == kept);
        if (ranked.Count < Math.Max(1, RecoveryPolicy.MinWorkers) || (kept >= 0 && source < 0))
        {
            // Workers were lost while the ledger rolled back: too few are left, or none holds the step it kept.
            Fail($"{current.Cause}; {string.Join("; ", current.Causes)}; " + (source < 0 && kept >= 0 && ranked.Count > 0
                ? $"no worker left holds step {kept}, which the ledger kept"
                : $"{ranked.Count} worker(s) left when the ledger recovered, fewer than min_workers {RecoveryPolicy.MinWorkers}"), null);
            return;
        }
        var stage = schedule[stageIndex];
        var cause = current.Causes.Count == 0 ? current.Cause : $"{current.Cause}; then {string.Join("; ", current.Causes)}";
        var record = new RecoverySummary
        {
            Stage = stage.Name,
            Step = kept,
            Cause = cause,
            GenerationBefore = current.GenerationBefore,
            GenerationAfter = generation + 1,
            WorldSizeBefore = current.WorldBefore,
            WorldSizeAfter = ranked.Count,
            LostSteps = current.DrainedCleanly ? 0
                : current.CompletedSteps.Count == 0 ? 1 : Math.Max(0, current.CompletedSteps.Values.Max() + 1 - Math.Max(kept, 0)),
            NoticedAt = current.NoticedAt,
            AbortMs = ((current.AbortedAt ?? DateTimeOffset.UtcNow) - current.NoticedAt).TotalMilliseconds,
            ReformMs = (DateTimeOffset.UtcNow - current.NoticedAt).TotalMilliseconds,
            LeasesReturned = recovered.Result.LeasesReturned,
            RowsRewound = recovered.Result.RowsRewound,
            Grow = current.Grow,
        };
        ReadOnlyMemory<byte> config;
        try
        {
            config = stage.Prepare();
        }
        catch (Exception e)
        {
            Fail($"stage '{stage.Name}' cannot restart after {current.Cause}: {e.Message}", null);
            return;
        }
        GenerationRecovery? resume = source < 0
            ? null   // nobody holds the stage's state (lost before its first step): the stage starts over
            : new GenerationRecovery { Step = kept, SourceRank = source, Epoch = recovered.Result.FirstOpenEpoch, PreviousGeneration = current.GenerationBefore };
        SendGeneration(ranked, config, resume);
        JournalGeneration(ranked);
        recoveries.Add(record);
        Journal(new RecoveryRecorded
        {
            StageIndex = stageIndex, Step = record.Step, Cause = record.Cause, GenerationBefore = record.GenerationBefore,
            GenerationAfter = record.GenerationAfter, WorldSizeBefore = record.WorldSizeBefore, WorldSizeAfter = record.WorldSizeAfter,
            LostSteps = record.LostSteps, DetectMs = record.AbortMs ?? 0, ReformMs = record.ReformMs ?? 0,
        });
        stages[stageIndex] = stages[stageIndex] with { Generation = generation };
        log.Warning($"Run {settings.RunId}: generation {generation} continues stage '{stage.Name}' from step {kept} with " +
            $"{ranked.Count} workers (rank {source} sends its state): {string.Join(", ", ranked.Select(w => $"{w.Rank}={w.Registration.WorkerId}"))}.");
        Become(Running);
        Publish();
    }

    // ---------------------------------------------------------------- the end

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
        Fail(abort.Reason, null);
        Sender.Tell(Snapshot());
    }

    private void HandleRendezvousDeadline()
    {
        var registered = string.Join(", ", workers.Keys.Order(WorkerIdComparer.Instance));
        Fail($"only {workers.Count} of {settings.WorldSize} workers registered within {settings.RendezvousTimeout?.TotalSeconds:0.#} s" +
            (workers.Count > 0 ? $" ({registered})" : ""), null);
    }

    private void HandleSubscribe(SubscribeRunStatus subscribe)
    {
        subscribers.Add(subscribe.Subscriber);
        Context.Watch(subscribe.Subscriber);
        subscribe.Subscriber.Tell(Snapshot());
    }

    /// <summary>How a failure names a worker: <c>worker ID (rank R, AKKA-ADDRESS)</c>.</summary>
    private static string Describe(WorkerEntry worker) =>
        $"worker {worker.Registration.WorkerId} (rank {worker.Rank}, {worker.Agent.Path.Address})";

    /// <summary>" during stage 'NAME'" when the run has more than one stage, else empty.</summary>
    private string DuringStage => schedule.Count > 1 ? $" during stage '{schedule[stageIndex].Name}'" : "";

    /// <summary>The workers of the current generation (joiners waiting for the next one are not).</summary>
    private List<WorkerEntry> Members => workers.Values.Where(w => w.Rank >= 0).ToList();

    private void Fail(string reason, WorkerEntry? culprit)
    {
        if (phase is RunPhase.Finished or RunPhase.Failed)
        {
            return;
        }
        if (started && stages[stageIndex].State is StageState.Pending or StageState.Running)
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

    private void End(bool succeeded, string message, TimeSpan lateJoinerWait = default)
    {
        recovery = null;
        Timers.CancelAll();
        Journal(new MmCluster.Shared.Grpc.Journal.RunEnded { Succeeded = succeeded, Reason = message });
        Become(Ended);
        var snapshot = Publish();
        foreach (var member in InCluster ? Cluster.Get(Context.System).State.Unreachable : [])
        {
            DownWhenOver(member);
        }
        onOutcome(new RunOutcome(succeeded, message, snapshot) { LateJoinerWait = lateJoinerWait, WorkerJobs = [.. workerJobs] });
    }

    /// <summary>Whether this actor system is a cluster member (the actor specs run it without one).</summary>
    private static bool InCluster => ((ExtendedActorSystem)Context.System).Provider is IClusterActorRefProvider;

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

    private void TellEnd(IActorRef replyTo)
    {
        if (phase == RunPhase.Failed)
        {
            replyTo.Tell(new RunFailed { RunId = settings.RunId, Generation = generation, Reason = failureReason ?? "" });
        }
        else
        {
            replyTo.Tell(new RunFinished { RunId = settings.RunId, Generation = generation });
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
        Math.Max(generation, settings.Generation),
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
        Recoveries = recoveries.ToArray(),
    };

    private static void IgnoreOutcome(RunOutcome outcome) { }

    private sealed class RendezvousDeadline
    {
        public static readonly RendezvousDeadline Instance = new();

        private RendezvousDeadline() { }
    }

    private sealed class ElasticStartDue
    {
        public static readonly ElasticStartDue Instance = new();

        private ElasticStartDue() { }
    }

    private sealed class AbortTimeout
    {
        public static readonly AbortTimeout Instance = new();

        private AbortTimeout() { }
    }

    private sealed class ReplacementDeadline
    {
        public static readonly ReplacementDeadline Instance = new();

        private ReplacementDeadline() { }
    }

    /// <summary>A recovery in progress: why, since when, whose confirmation is awaited, the steps survivors completed.</summary>
    private sealed class Recovery(string cause, DateTimeOffset noticedAt, long generationBefore, int worldBefore, bool grow)
    {
        public string Cause { get; } = cause;
        public DateTimeOffset NoticedAt { get; } = noticedAt;
        public long GenerationBefore { get; } = generationBefore;
        public int WorldBefore { get; } = worldBefore;
        public bool Grow { get; } = grow;
        public List<string> Causes { get; } = [];
        public HashSet<string> Awaiting { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, long> CompletedSteps { get; } = new(StringComparer.Ordinal);
        public DateTimeOffset? AbortedAt { get; set; }
        public long Step { get; set; } = -1;
        public bool LedgerAsked { get; set; }

        /// <summary>A grow whose members are still finishing the step in flight (<see cref="DrainGeneration"/>).</summary>
        public bool Draining { get; set; }

        /// <summary>The step after which the drain asked the members to stop.</summary>
        public long DrainAfter { get; init; }

        /// <summary>Every member stopped at or after the drain's step: no step was lost.</summary>
        public bool DrainedCleanly { get; set; }
    }

    private sealed class DrainDeadline
    {
        public static readonly DrainDeadline Instance = new();

        private DrainDeadline() { }
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
