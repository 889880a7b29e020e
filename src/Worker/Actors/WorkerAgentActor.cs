using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Google.Protobuf;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Hosting;
using MmCluster.Shared.Manifest;

namespace MmCluster.Worker.Actors;

/// <summary>
/// The worker's end of the control plane. Finds the coordinator (the cluster member with the coordinator role),
/// registers until StartGeneration arrives, hands the generation to the <see cref="ITrainingSession"/>, and relays
/// the trainer's requests (<see cref="IControlPlane"/>) to the coordinator's RunActor with itself as sender, so the
/// ledger watches this actor for the leases it holds. A run is a schedule of stages: once the trainer finished a stage,
/// the coordinator sends the next one as a higher generation of the same run, and the session is started again with it.
/// Ends the session when the run ends or the coordinator is lost.
/// </summary>
public sealed class WorkerAgentActor : ReceiveActor, IWithTimers
{
    private const string RegisterTimer = "register";

    private readonly WorkerAgentSettings settings;
    private readonly ITrainingSession session;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<long, IActorRef> pendingShards = [];
    private readonly Dictionary<long, List<IActorRef>> pendingCommits = [];
    private ICanTell? coordinator;
    private Address? coordinatorAddress;
    private StartGeneration? generation;
    private bool trainerFinished;
    private bool trainerAborted;
    private RunEnded? ended;
    private long nextRequestId;
    private bool subscribedToCluster;

    public WorkerAgentActor(WorkerAgentSettings settings, ITrainingSession session, IActorRef? coordinator)
    {
        this.settings = settings;
        this.session = session;
        this.coordinator = coordinator;
        Receive<RegisterTick>(_ => HandleRegisterTick());
        Receive<JoinDeadline>(_ => HandleJoinDeadline());
        Receive<StartGeneration>(HandleStartGeneration);
        Receive<AbortGeneration>(HandleAbortGeneration);
        Receive<DrainGeneration>(HandleDrainGeneration);
        Receive<StepStarted>(HandleStepStarted);
        Receive<TrainerAborted>(HandleTrainerAborted);
        Receive<RegistrationRejected>(rejected => End(new RunEnded(false, $"coordinator rejected worker {settings.WorkerId}: {rejected.Reason}") { Final = true }));
        Receive<NextShard>(HandleNextShard);
        Receive<ShardLeased>(HandleShardLeased);
        Receive<NoShardAvailable>(HandleNoShardAvailable);
        Receive<EpochCompleted>(HandleEpochCompleted);
        Receive<ShardDone>(HandleShardDone);
        Receive<ReportProgress>(HandleProgress);
        Receive<VoteCommit>(HandleVoteCommit);
        Receive<CheckpointCommitted>(HandleCheckpointCommitted);
        Receive<TrainerFinished>(HandleTrainerFinished);
        Receive<TrainerFailed>(HandleTrainerFailed);
        Receive<RunFinished>(finished => End(new RunEnded(true, $"run {finished.RunId} finished")));
        Receive<RunFailed>(failed => End(new RunEnded(false, failed.Reason) { Final = true }));
        Receive<LeaveRun>(HandleLeaveRun);
        Receive<Terminated>(HandleTerminated);
        Receive<ClusterEvent.MemberUp>(up => HandleMemberUp(up.Member));
        Receive<ClusterEvent.UnreachableMember>(unreachable => HandleCoordinatorLost(unreachable.Member, "became unreachable"));
        Receive<ClusterEvent.MemberRemoved>(removed => HandleCoordinatorLost(removed.Member, "left the cluster"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="coordinator">The RunActor to talk to; null finds it in the cluster by the coordinator role.</param>
    public static Props Props(WorkerAgentSettings settings, ITrainingSession session, IActorRef? coordinator = null) =>
        Akka.Actor.Props.Create(() => new WorkerAgentActor(settings, session, coordinator));

    protected override void PreStart()
    {
        if (coordinator is IActorRef injected)
        {
            Context.Watch(injected);
            StartRegistering();
            return;
        }
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.UnreachableMember));
        subscribedToCluster = true;
        Timers.StartSingleTimer(nameof(JoinDeadline), JoinDeadline.Instance, settings.JoinTimeout);
    }

    private void HandleJoinDeadline()
    {
        if (coordinator is not null)
        {
            return;
        }
        var where = settings.CoordinatorHint is { } hint ? $" at {hint}" : "";
        End(new RunEnded(false, settings.Rejoining
            ? $"worker {settings.WorkerId}: no coordinator came back{where} within {settings.JoinTimeout.TotalSeconds:0.#} s (recovery.coordinator_wait)"
            : $"worker {settings.WorkerId} saw no coordinator{where} within {settings.JoinTimeout.TotalSeconds:0.#} s: check --coordinator (MMCLUSTER_COORDINATOR) and that the coordinator is running and reachable")
        {
            NoCoordinator = !settings.Rejoining,
        });
    }

    protected override void PostStop()
    {
        if (subscribedToCluster)
        {
            Cluster.Get(Context.System).Unsubscribe(Self);
        }
        End(new RunEnded(false, $"worker {settings.WorkerId} stopped before the run ended"));
    }

    private void HandleMemberUp(Member member)
    {
        if (coordinator is not null || !member.HasRole(ClusterRoles.Coordinator))
        {
            return;
        }
        coordinatorAddress = member.Address;
        coordinator = Context.ActorSelection(new RootActorPath(member.Address) / "user" / "run");
        StartRegistering();
    }

    private void StartRegistering() =>
        Timers.StartPeriodicTimer(RegisterTimer, RegisterTick.Instance, TimeSpan.Zero, settings.RegisterInterval);

    private void HandleRegisterTick() => TellCoordinator(new RegisterWorker
    {
        WorkerId = settings.WorkerId,
        CollectiveAddress = settings.CollectiveAddress,
        Device = settings.Device,
        Threads = settings.Threads,
        JobUid = settings.JobUid,
    });

    private void HandleStartGeneration(StartGeneration start)
    {
        if (ended is not null || generation is not null && !IsNextStage(start))
        {
            return;
        }
        Timers.Cancel(RegisterTimer);
        generation = start;
        trainerFinished = false;
        trainerAborted = false;
        if (!Sender.Equals(coordinator))
        {
            coordinator = Sender;
            Context.Watch(Sender);
        }
        var info = new GenerationInfo(start.RunId, start.Generation, start.Rank, start.WorldSize,
            start.Peers.Select(p => new PeerInfo(p.Rank, p.WorkerId, p.CollectiveAddress, p.AkkaAddress)).ToList(),
            start.StageConfig.Memory)
        {
            StageIndex = start.StageIndex,
            Recovery = start.Recovery,
        };
        log.Info("Worker {0}: run {1} generation {2}, rank {3} of {4}{5}.", settings.WorkerId, start.RunId, start.Generation, start.Rank, start.WorldSize,
            start.Recovery is { } r ? $", continuing from step {r.Step} with rank {r.SourceRank}'s state" : "");
        session.OnGenerationStarted(info, new ControlPlaneClient(Self));
    }

    /// <summary>The next stage of the same run: a higher generation, after the trainer finished the current one.</summary>
    private bool IsNextStage(StartGeneration start)
    {
        if (start.RunId != generation!.RunId || start.Generation <= generation.Generation)
        {
            return false;
        }
        if (!trainerFinished && !trainerAborted)
        {
            log.Warning("Worker {0}: generation {1} arrived while the trainer is still on generation {2}; ignored.",
                settings.WorkerId, start.Generation, generation.Generation);
            return false;
        }
        return true;
    }

    /// <summary>
    /// The coordinator aborts the current generation: pending calls of the trainer fail at once (it keeps its state), the
    /// session stops its step; the trainer then reports the step it completed.
    /// </summary>
    private void HandleAbortGeneration(AbortGeneration abort)
    {
        if (ended is not null || generation is null || abort.Generation != generation.Generation)
        {
            return;
        }
        log.Warning("Worker {0}: generation {1} aborted: {2}", settings.WorkerId, abort.Generation, abort.Reason);
        FailPending(new Status.Failure(new GenerationAbortedException($"generation {abort.Generation} aborted: {abort.Reason}")));
        session.OnGenerationAborted(abort.Generation, abort.Reason);
        if (trainerFinished)
        {
            // Nothing to stop: the trainer finished the stage; it keeps nothing for a recovery of it.
            TellCoordinator(new GenerationAborted { WorkerId = settings.WorkerId, Generation = abort.Generation, CompletedStep = -1, Reason = "finished" });
        }
    }

    private void HandleDrainGeneration(DrainGeneration drain)
    {
        if (ended is not null || generation is null || drain.Generation != generation.Generation)
        {
            return;
        }
        log.Info("Worker {0}: generation {1} drains after step {2}: {3}", settings.WorkerId, drain.Generation, drain.AfterStep, drain.Reason);
        if (trainerFinished)
        {
            TellCoordinator(new GenerationAborted { WorkerId = settings.WorkerId, Generation = drain.Generation, CompletedStep = -1, Reason = "finished" });
            return;
        }
        session.OnGenerationDrain(drain.Generation, drain.AfterStep, drain.Reason);
    }

    private void HandleTrainerAborted(TrainerAborted aborted)
    {
        if (generation is null || aborted.Generation != generation.Generation)
        {
            return;
        }
        trainerAborted = true;
        FailPending(new Status.Failure(new GenerationAbortedException($"generation {aborted.Generation} stopped: {aborted.Reason}")));
        var message = new GenerationAborted
        {
            WorkerId = settings.WorkerId,
            Generation = aborted.Generation,
            CompletedStep = aborted.CompletedStep,
            Reason = aborted.Reason,
        };
        if (aborted.LostPeerRank is { } lost)
        {
            message.LostPeerRank = lost;
        }
        TellCoordinator(message);
    }

    private void HandleStepStarted(StepStarted started)
    {
        var message = started.Clone();
        message.WorkerId = settings.WorkerId;
        TellCoordinator(message);
    }

    private void FailPending(Status.Failure failure)
    {
        foreach (var replyTo in pendingShards.Values)
        {
            replyTo.Tell(failure);
        }
        foreach (var replyTo in pendingCommits.Values.SelectMany(w => w))
        {
            replyTo.Tell(failure);
        }
        pendingShards.Clear();
        pendingCommits.Clear();
    }

    private void HandleTrainerFinished(TrainerFinished finished)
    {
        trainerFinished = true;
        TellCoordinator(new WorkerFinished { WorkerId = settings.WorkerId, Step = finished.Step });
    }

    private void HandleNextShard(NextShard next)
    {
        if (RefuseWhenNotRunning())
        {
            return;
        }
        var requestId = ++nextRequestId;
        pendingShards[requestId] = Sender;
        TellCoordinator(new RequestShard { WorkerId = settings.WorkerId, Epoch = next.Epoch, RequestId = requestId });
    }

    private void HandleShardLeased(ShardLeased leased)
    {
        Reply(leased.RequestId, new NextShardReply(new ShardLease(leased.Epoch, leased.ToShardSpec())));
    }

    private void HandleNoShardAvailable(NoShardAvailable none) => Reply(none.RequestId, new NextShardReply(null, AllLeased: true));

    private void HandleEpochCompleted(EpochCompleted completed) => Reply(completed.RequestId, new NextShardReply(null));

    private void Reply(long requestId, NextShardReply reply)
    {
        if (pendingShards.Remove(requestId, out var replyTo))
        {
            replyTo.Tell(reply);
        }
    }

    private void HandleShardDone(ShardDone done)
    {
        var completed = new ShardCompleted
        {
            WorkerId = settings.WorkerId,
            Epoch = done.Lease.Epoch,
            ShardId = done.Lease.Shard.ShardId,
            RowsConsumed = done.RowsConsumed,
            Step = done.Step,
            Generation = done.Generation,
        };
        completed.SkippedByReason.Add(done.SkippedByReason.ToDictionary());
        TellCoordinator(completed);
    }

    private void HandleProgress(ReportProgress report)
    {
        var message = report.Clone();
        message.WorkerId = settings.WorkerId;
        message.Rank = generation?.Rank ?? -1;
        TellCoordinator(message);
    }

    private void HandleVoteCommit(VoteCommit vote)
    {
        if (RefuseWhenNotRunning())
        {
            return;
        }
        if (!pendingCommits.TryGetValue(vote.Step, out var waiting))
        {
            waiting = [];
            pendingCommits[vote.Step] = waiting;
        }
        waiting.Add(Sender);
        TellCoordinator(new CommitCheckpoint { WorkerId = settings.WorkerId, Step = vote.Step, Path = vote.Path });
    }

    private void HandleCheckpointCommitted(CheckpointCommitted committed)
    {
        if (!pendingCommits.Remove(committed.Step, out var waiting))
        {
            return;
        }
        var commit = new CheckpointCommit(committed.Step, committed.Path, committed.Ledger?.ToByteArray() ?? []);
        foreach (var replyTo in waiting)
        {
            replyTo.Tell(commit);
        }
    }

    private void HandleLeaveRun(LeaveRun leave)
    {
        End(new RunEnded(false, leave.Reason));
        Sender.Tell(Done.Instance);
    }

    private void HandleTerminated(Terminated terminated)
    {
        if (coordinator is IActorRef current && current.Equals(terminated.ActorRef))
        {
            End(Lost($"coordinator {terminated.ActorRef.Path.Address} terminated"));
        }
    }

    private void HandleCoordinatorLost(Member member, string what)
    {
        var cluster = Cluster.Get(Context.System);
        if (member.Address.Equals(cluster.SelfAddress) || cluster.SelfMember.Status is MemberStatus.Leaving or MemberStatus.Exiting or MemberStatus.Down or MemberStatus.Removed)
        {
            End(Lost($"worker {settings.WorkerId} {what}"));
            return;
        }
        if (member.Address.Equals(coordinatorAddress))
        {
            End(Lost($"coordinator {member.Address} {what}"));
        }
    }

    /// <summary>
    /// This worker lost the coordinator (or was removed from its cluster): the run may go on with a restarted coordinator,
    /// so when the run's recovery allows it (<c>coordinator_wait</c> in the last StartGeneration) the process rejoins.
    /// </summary>
    private RunEnded Lost(string reason) => new(false, reason)
    {
        RejoinWithin = generation is { CoordinatorWaitMs: > 0 } started ? TimeSpan.FromMilliseconds(started.CoordinatorWaitMs) : null,
    };

    private bool RefuseWhenNotRunning()
    {
        if (ended is not null)
        {
            Sender.Tell(new Status.Failure(new RunEndedException(ended.Reason)));
            return true;
        }
        if (generation is null)
        {
            Sender.Tell(new Status.Failure(new InvalidOperationException($"worker {settings.WorkerId} has no generation yet")));
            return true;
        }
        return false;
    }

    private void HandleTrainerFailed(TrainerFailed failed)
    {
        var message = new WorkerFailed { WorkerId = settings.WorkerId, Reason = failed.Reason };
        if (failed.LostPeerRank is { } lost)
        {
            message.LostPeerRank = lost;
        }
        TellCoordinator(message);
    }

    private void TellCoordinator(object message)
    {
        if (ended is null)
        {
            coordinator?.Tell(message, Self);
        }
    }

    private void End(RunEnded runEnded)
    {
        if (ended is not null)
        {
            return;
        }
        ended = runEnded;
        Timers.CancelAll();
        if (runEnded.Succeeded)
        {
            log.Info("Worker {0}: {1}.", settings.WorkerId, runEnded.Reason);
        }
        else
        {
            log.Warning("Worker {0}: {1}.", settings.WorkerId, runEnded.Reason);
        }
        // The session hears of the end before its pending calls fail, so a trainer woken by that failure already sees
        // itself stopped (not failed): a worker that rejoins a restarted coordinator must not exit on it.
        session.OnRunEnded(runEnded);
        FailPending(new Status.Failure(new RunEndedException(runEnded.Reason)));
        if (runEnded.RejoinWithin is not null && subscribedToCluster)
        {
            // This membership is over and the process rejoins with a new one: downing itself ends it at once instead of
            // after the split-brain resolver's stable-after (the coordinator, the oldest member, is gone).
            var cluster = Cluster.Get(Context.System);
            cluster.Down(cluster.SelfAddress);
        }
    }

    private sealed class JoinDeadline
    {
        public static readonly JoinDeadline Instance = new();

        private JoinDeadline() { }
    }

    private sealed class RegisterTick
    {
        public static readonly RegisterTick Instance = new();

        private RegisterTick() { }
    }
}
