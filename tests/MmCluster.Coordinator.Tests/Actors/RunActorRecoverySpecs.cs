using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Tests.Ledger;
using MmCluster.Shared.Grpc.Control;
using Xunit;
using Xunit.Abstractions;
using static MmCluster.Coordinator.Tests.Actors.RecoveryProbes;

namespace MmCluster.Coordinator.Tests.Actors;

/// <summary>
/// The RunActor with recovery enabled, over TestProbe workers and a real ShardLedgerActor: a lost worker aborts the
/// generation, the survivors confirm, and the next generation starts with a replacement or fewer workers, or the run fails.
/// </summary>
public sealed class RunActorRecoverySpecs(ITestOutputHelper output) : TestKit(output: output)
{
    private readonly ConcurrentQueue<RunOutcome> outcomes = new();

    [Fact]
    public void Should_restart_the_generation_with_the_replacement_when_a_survivor_reports_a_lost_peer()
    {
        var (run, _) = StartRun(world: 3, Policy(minWorkers: 2));
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);

        run.Tell(new GenerationAborted { WorkerId = "worker-0", Generation = 1, CompletedStep = 5, Reason = "the stream to rank 2 broke", LostPeerRank = 2 }, w0.Ref);

        w0.ExpectMsg<AbortGeneration>(a => a.Generation == 1, Wait);
        var abort = ConfirmAbort(run, w1, "worker-1", generation: 1, step: 6);
        Assert.StartsWith("worker worker-2 (rank 2", abort.Reason);
        w0.ExpectNoMsg(TimeSpan.FromMilliseconds(300));   // two of three: it waits for a replacement
        w2.ExpectNoMsg(TimeSpan.Zero);

        var replacement = WorkerProbes.Register(this, run, "worker-2", "worker-2-replacement");

        var starts = Starts(w0, w1, replacement);
        Assert.All(starts, s => Assert.Equal((2L, 3, 0, 90_000L), (s.Generation, s.WorldSize, s.StageIndex, s.CoordinatorWaitMs)));
        Assert.All(starts, s => Assert.Equal((6L, 1, 0, 1L), (s.Recovery.Step, s.Recovery.SourceRank, s.Recovery.Epoch, s.Recovery.PreviousGeneration)));
        Assert.Equal([0, 1, 2], starts.Select(s => s.Rank));
        Assert.Equal(["worker-0", "worker-1", "worker-2"], starts[0].Peers.Select(p => p.WorkerId));
        w2.ExpectNoMsg(TimeSpan.Zero);
        var status = Status(run);
        Assert.Equal(RunPhase.Running, status.Phase);
        var record = Assert.Single(status.Recoveries);
        Assert.Equal(("stage", 6L, 1L, 2L, 3, 3, false), (record.Stage, record.Step, record.GenerationBefore, record.GenerationAfter, record.WorldSizeBefore, record.WorldSizeAfter, record.Grow));
        Assert.StartsWith("worker worker-2 (rank 2", record.Cause);
        Assert.Contains("worker worker-0 (rank 0", record.Cause);
    }

    [Fact]
    public void Should_continue_the_same_stage_when_a_worker_is_lost_in_a_later_stage()
    {
        var (run, _) = StartRun(world: 2, Policy(minWorkers: 1), Stage("clip"), Stage("clip2"));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 4 }, w0.Ref);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 4 }, w1.Ref);
        Starts(w0, w1);

        run.Tell(new GenerationAborted { WorkerId = "worker-1", Generation = 2, CompletedStep = 3, Reason = "collective timed out" }, w1.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 2, step: 3);
        w1.ExpectMsg<AbortGeneration>(Wait);

        var starts = Starts(w0, w1);
        Assert.All(starts, s => Assert.Equal((3L, 2, 1, "clip2", 3L), (s.Generation, s.WorldSize, s.StageIndex, s.StageConfig.ToStringUtf8(), s.Recovery.Step)));
        var record = Assert.Single(Status(run).Recoveries);
        Assert.Equal(("clip2", 2L, 3L), (record.Stage, record.GenerationBefore, record.GenerationAfter));
        Assert.StartsWith("worker worker-1 (rank 1", record.Cause);
        Assert.Contains("stopped its generation during stage 'clip2': collective timed out", record.Cause);
    }

    [Fact]
    public void Should_go_on_with_the_survivors_when_no_replacement_registers_within_the_replacement_wait()
    {
        var (run, w0, w1) = LoseWorker2(TimeSpan.FromMilliseconds(300));

        var starts = Starts(w0, w1);
        Assert.All(starts, s => Assert.Equal((2L, 2, 4L, 0), (s.Generation, s.WorldSize, s.Recovery.Step, s.Recovery.SourceRank)));
        Assert.Equal(["worker-0", "worker-1"], starts[0].Peers.Select(p => p.WorkerId));
        var record = Assert.Single(Status(run).Recoveries);
        Assert.Equal((3, 2), (record.WorldSizeBefore, record.WorldSizeAfter));
        Assert.Contains("worker worker-2 (rank 2", record.Cause);
        Assert.Contains("terminated mid-run", record.Cause);
    }

    [Fact]
    public void Should_tell_a_late_replacement_that_the_run_finished_and_stay_for_it_when_a_lost_worker_was_not_replaced()
    {
        var wait = TimeSpan.FromMilliseconds(300);
        var (run, w0, w1) = LoseWorker2(wait);
        Starts(w0, w1);

        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 8 }, w0.Ref);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 8 }, w1.Ref);

        var outcome = Outcome();
        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Equal(wait, outcome.LateJoinerWait);                 // the coordinator stays for worker-2's replacement
        var late = WorkerProbes.Register(this, run, "worker-2", "worker-2-late");
        late.ExpectMsg<RunFinished>(f => f.RunId == "run-a", Wait);  // it exits as done rather than as refused
    }

    [Fact]
    public void Should_not_stay_after_the_run_when_every_worker_finished()
    {
        var (run, _) = StartRun(world: 2, Policy(minWorkers: 1));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);

        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 8 }, w0.Ref);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 8 }, w1.Ref);

        var outcome = Outcome();
        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Equal(TimeSpan.Zero, outcome.LateJoinerWait);
    }

    [Fact]
    public void Should_name_the_kubernetes_jobs_of_every_admitted_worker_in_the_outcome()
    {
        var (run, _) = StartRun(world: 2, Policy(minWorkers: 1));
        var w0 = WorkerProbes.Register(this, run, "worker-0", jobUid: "job-b");
        var w1 = WorkerProbes.Register(this, run, "worker-1", jobUid: "job-a");
        Starts(w0, w1);

        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 8 }, w0.Ref);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 8 }, w1.Ref);

        Assert.Equal(["job-a", "job-b"], Outcome().WorkerJobs);   // summary.json's worker_jobs, for late replacements
    }

    [Fact]
    public void Should_fail_the_run_naming_the_cause_when_fewer_than_min_workers_remain()
    {
        var (run, _) = StartRun(world: 3, Policy(minWorkers: 3, replacementWait: TimeSpan.FromMilliseconds(300)));
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);

        Sys.Stop(w2.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 4);
        ConfirmAbort(run, w1, "worker-1", generation: 1, step: 4);

        var failed = w0.ExpectMsg<RunFailed>(Wait);
        w1.ExpectMsg<RunFailed>(Wait);
        Assert.StartsWith("worker worker-2 (rank 2", failed.Reason);
        Assert.Contains("2 worker(s) left, fewer than min_workers 3", failed.Reason);
        var outcome = Outcome();
        Assert.False(outcome.Succeeded);
        Assert.Contains("worker worker-2 (rank 2", outcome.Message);
        Assert.Equal(RunPhase.Failed, outcome.Final.Phase);
        Assert.Empty(outcome.Final.Recoveries);
    }

    [Fact]
    public void Should_fail_the_run_naming_the_earlier_causes_when_recoveries_exceed_max_restarts_within_the_window()
    {
        var (run, _) = StartRun(world: 3, Policy(minWorkers: 1, replacementWait: TimeSpan.FromMilliseconds(200), maxRestarts: 1));
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);
        Sys.Stop(w2.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 4);
        ConfirmAbort(run, w1, "worker-1", generation: 1, step: 4);
        Starts(w0, w1);

        Sys.Stop(w1.Ref);

        var failed = w0.ExpectMsg<RunFailed>(Wait);
        Assert.StartsWith("worker worker-1 (rank 1", failed.Reason);
        Assert.Contains("more than 1 recoveries within 3600 s (earlier: worker worker-2 (rank 2", failed.Reason);
        var outcome = Outcome();
        Assert.False(outcome.Succeeded);
        Assert.Contains("earlier: worker worker-2", outcome.Message);
        Assert.Single(outcome.Final.Recoveries);
    }

    [Fact]
    public void Should_fold_a_survivor_lost_while_confirming_into_the_recovery_and_go_on()
    {
        // The abort timeout is far longer than the spec waits: the recovery must not wait for a worker it knows is gone.
        var (run, _) = StartRun(world: 3, Policy(minWorkers: 1, replacementWait: TimeSpan.FromMilliseconds(300)));
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);

        Sys.Stop(w2.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 3);
        w1.ExpectMsg<AbortGeneration>(Wait);
        Sys.Stop(w1.Ref);

        var start = w0.ExpectMsg<StartGeneration>(Wait);
        Assert.Equal((2L, 1, 0, 3L, 0), (start.Generation, start.WorldSize, start.Rank, start.Recovery.Step, start.Recovery.SourceRank));
        var record = Assert.Single(Status(run).Recoveries);
        Assert.Equal((3, 1), (record.WorldSizeBefore, record.WorldSizeAfter));
    }

    [Fact]
    public void Should_fail_the_run_naming_both_losses_when_a_survivor_is_lost_while_waiting_for_a_replacement()
    {
        var (run, _) = StartRun(world: 3, Policy(minWorkers: 2, replacementWait: TimeSpan.FromSeconds(2)));
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);
        Sys.Stop(w2.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 3);
        ConfirmAbort(run, w1, "worker-1", generation: 1, step: 3);

        Sys.Stop(w1.Ref);

        var failed = w0.ExpectMsg<RunFailed>(Wait);
        Assert.StartsWith("worker worker-2 (rank 2", failed.Reason);
        Assert.Contains("1 worker(s) left, fewer than min_workers 2 (worker worker-1 (rank 1", failed.Reason);
        Assert.Contains("terminated mid-run)", failed.Reason);
        Assert.False(Outcome().Succeeded);
    }

    [Fact]
    public void Should_drop_a_survivor_that_does_not_confirm_the_abort_in_time_and_go_on_without_it()
    {
        var (run, _) = StartRun(world: 3, Policy(minWorkers: 1, replacementWait: TimeSpan.FromMilliseconds(300), abortTimeout: TimeSpan.FromMilliseconds(300)));
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);

        Sys.Stop(w2.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 2);
        w1.ExpectMsg<AbortGeneration>(Wait);   // and never answers

        var start = w0.ExpectMsg<StartGeneration>(Wait);
        Assert.Equal((2L, 1, 2L), (start.Generation, start.WorldSize, start.Recovery.Step));
        Assert.Equal(["worker-0"], start.Peers.Select(p => p.WorkerId));
        w1.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        var status = Status(run);
        Assert.Equal(["worker-0"], status.Workers.Select(w => w.WorkerId));
        Assert.Equal((3, 1), (status.Recoveries.Single().WorldSizeBefore, status.Recoveries.Single().WorldSizeAfter));
    }

    [Fact]
    public void Should_fail_the_run_naming_the_lost_peer_when_recovery_is_disabled()
    {
        var (run, _) = StartRun(world: 2, RecoverySettings.Disabled);
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);

        run.Tell(new GenerationAborted { WorkerId = "worker-0", Generation = 1, CompletedStep = 5, Reason = "the stream to rank 1 broke", LostPeerRank = 1 }, w0.Ref);

        var failed = w0.ExpectMsg<RunFailed>(Wait);
        Assert.Equal("worker-1", failed.WorkerId);
        Assert.StartsWith("worker worker-1 (rank 1", failed.Reason);
        Assert.False(Outcome().Succeeded);
        var late = Register(run, "worker-2");
        late.ExpectMsg<RegistrationRejected>(Wait);
    }

    [Fact]
    public void Should_reject_a_registration_when_the_run_has_its_world_size()
    {
        var (run, _) = StartRun(world: 2, Policy(minWorkers: 1));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);

        var extra = Register(run, "worker-7");
        var twin = WorkerProbes.Register(this, run, "worker-1", "worker-1-twin");

        extra.ExpectMsg<RegistrationRejected>(r => r.WorkerId == "worker-7" && r.Reason.Contains("has its 2 workers"), Wait);
        twin.ExpectMsg<RegistrationRejected>(r => r.Reason.Contains("worker-1 is already a member"), Wait);
        w0.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(RunPhase.Running, Status(run).Phase);
    }

    /// <summary>Three workers start, worker-2 is stopped, the two survivors confirm the abort at step 4.</summary>
    private (IActorRef Run, TestProbe W0, TestProbe W1) LoseWorker2(TimeSpan replacementWait)
    {
        var (run, _) = StartRun(world: 3, Policy(minWorkers: 2, replacementWait: replacementWait));
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);
        Sys.Stop(w2.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 4);
        ConfirmAbort(run, w1, "worker-1", generation: 1, step: 4);
        return (run, w0, w1);
    }

    private RunStatus Status(IActorRef run)
    {
        run.Tell(GetRunStatus.Instance);
        return ExpectMsg<RunStatus>(Wait);
    }

    private RunOutcome Outcome()
    {
        AwaitAssert(() => Assert.Single(outcomes), Wait);
        return outcomes.Single();
    }

    private static ScheduledStage Stage(string name) => new(name, () => Encoding.UTF8.GetBytes(name));

    private (IActorRef Run, IActorRef Ledger) StartRun(int world, RecoverySettings recovery, params ScheduledStage[] stages)
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(4)), "ledger");
        var settings = new RunSettings("run-a", world, Encoding.UTF8.GetBytes("stage")) { Stages = stages, Recovery = recovery };
        return (Sys.ActorOf(RunActor.Props(settings, ledger, outcomes.Enqueue), "run"), ledger);
    }

    private TestProbe Register(IActorRef run, string workerId) => WorkerProbes.Register(this, run, workerId);
}
