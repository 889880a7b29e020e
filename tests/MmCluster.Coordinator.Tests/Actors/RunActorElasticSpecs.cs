using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Tests.Ledger;
using MmCluster.Shared.Grpc.Control;
using StageState = MmCluster.Shared.Runs.StageState;
using Xunit;
using Xunit.Abstractions;
using static MmCluster.Coordinator.Tests.Actors.RecoveryProbes;

namespace MmCluster.Coordinator.Tests.Actors;

/// <summary>
/// The RunActor's elastic world with recovery enabled: it starts with min_workers when the rest do not come, grows when
/// a worker registers, and a stage hand-off goes on without a worker lost after the stage's barrier.
/// </summary>
public sealed class RunActorElasticSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    private readonly ConcurrentQueue<RunOutcome> outcomes = new();

    [Fact]
    public void Should_start_with_the_registered_workers_when_min_workers_registered_and_the_replacement_wait_passed()
    {
        var run = StartRun(world: 3, Policy(minWorkers: 2, replacementWait: TimeSpan.FromMilliseconds(300)));
        var w0 = Register(run, "worker-0");
        w0.ExpectNoMsg(TimeSpan.FromMilliseconds(600));   // one is below min_workers: no timer runs

        var w1 = Register(run, "worker-1");

        var starts = Starts(w0, w1);
        Assert.All(starts, s => Assert.Equal((1L, 2, 0, (GenerationRecovery?)null), (s.Generation, s.WorldSize, s.StageIndex, s.Recovery)));
        Assert.Equal([0, 1], starts.Select(s => s.Rank));
        Assert.Equal(["worker-0", "worker-1"], starts[0].Peers.Select(p => p.WorkerId));
        var status = Status(run);
        Assert.Equal((RunPhase.Running, 3, 2), (status.Phase, status.WorldSize, status.Workers.Count));
    }

    [Fact]
    public void Should_grow_to_the_world_size_when_a_worker_registers_after_an_elastic_start()
    {
        var run = StartRun(world: 3, Policy(minWorkers: 2, replacementWait: TimeSpan.FromMilliseconds(300), maxRestarts: 0));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);

        run.Tell(new StepStarted { WorkerId = "worker-0", Generation = 1, Step = 7 }, w0.Ref);   // step 7 in flight
        var w2 = Register(run, "worker-2");

        var drain = ConfirmDrain(run, w0, "worker-0", generation: 1, step: 7);
        Assert.Contains("worker worker-2 joined: growing to 3 workers", drain.Reason);
        Assert.Equal(7, drain.AfterStep);   // the step in flight is finished, not lost
        Assert.Equal(RunPhase.Draining, Status(run).Phase);
        ConfirmDrain(run, w1, "worker-1", generation: 1, step: 7);
        var starts = Starts(w0, w1, w2);
        Assert.All(starts, s => Assert.Equal((2L, 3, 7L, 0), (s.Generation, s.WorldSize, s.Recovery.Step, s.Recovery.SourceRank)));
        Assert.Equal([0, 1, 2], starts.Select(s => s.Rank));
        var record = Assert.Single(Status(run).Recoveries);
        Assert.Equal((true, 2, 3, 1L, 2L, 0L), (record.Grow, record.WorldSizeBefore, record.WorldSizeAfter, record.GenerationBefore, record.GenerationAfter, record.LostSteps));
    }

    [Fact]
    public void Should_abort_the_members_that_do_not_stop_when_the_drain_deadline_passes()
    {
        var run = StartRun(world: 3, Policy(minWorkers: 2, replacementWait: TimeSpan.FromMilliseconds(300), maxRestarts: 0, abortTimeout: TimeSpan.FromMilliseconds(400)));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        var w2 = Register(run, "worker-2");
        ConfirmDrain(run, w0, "worker-0", generation: 1, step: 3);
        w1.ExpectMsg<DrainGeneration>(Wait);   // worker-1 never stops (its session cannot drain)

        ConfirmAbort(run, w1, "worker-1", generation: 1, step: 3);

        Assert.All(Starts(w0, w1, w2), s => Assert.Equal((2L, 3, 3L), (s.Generation, s.WorldSize, s.Recovery.Step)));
    }

    [Fact]
    public void Should_turn_the_drain_into_an_ordinary_recovery_when_a_member_is_lost_during_it()
    {
        var run = StartRun(world: 3, Policy(minWorkers: 2, replacementWait: TimeSpan.FromMilliseconds(300), maxRestarts: 1));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        var w2 = Register(run, "worker-2");
        w0.ExpectMsg<DrainGeneration>(Wait);
        w1.ExpectMsg<DrainGeneration>(Wait);

        Sys.Stop(w1.Ref);

        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 2);
        var starts = Starts(w0, w2);
        Assert.All(starts, s => Assert.Equal((2L, 2, 2L), (s.Generation, s.WorldSize, s.Recovery.Step)));
        Assert.False(Assert.Single(Status(run).Recoveries).Grow);
    }

    [Fact]
    public void Should_grow_back_to_the_world_size_when_a_worker_registers_after_a_shrink()
    {
        var run = StartRun(world: 3, Policy(minWorkers: 2, replacementWait: TimeSpan.FromMilliseconds(300)));
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);
        Sys.Stop(w1.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 4);
        ConfirmAbort(run, w2, "worker-2", generation: 1, step: 4);
        Assert.All(Starts(w0, w2), s => Assert.Equal((2L, 2), (s.Generation, s.WorldSize)));

        var back = Register(run, "worker-1");

        ConfirmDrain(run, w0, "worker-0", generation: 2, step: 9);
        ConfirmDrain(run, w2, "worker-2", generation: 2, step: 9);
        var starts = Starts(w0, w2, back);
        Assert.All(starts, s => Assert.Equal((3L, 3, 9L), (s.Generation, s.WorldSize, s.Recovery.Step)));
        Assert.Equal(["worker-0", "worker-2", "worker-1"], starts[0].Peers.Select(p => p.WorkerId));
        Assert.Equal([0, 1, 2], starts.Select(s => s.Rank));
        Assert.Equal([false, true], Status(run).Recoveries.Select(r => r.Grow));
    }

    [Fact]
    public void Should_start_the_next_stage_without_a_worker_lost_after_another_finished_the_stage()
    {
        var run = StartRun(world: 2, Policy(minWorkers: 1), Stage("clip"), Stage("clip2"));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 4 }, w0.Ref);

        Sys.Stop(w1.Ref);

        var start = w0.ExpectMsg<StartGeneration>(Wait);
        Assert.Equal((2L, 1, 1, 0, "clip2"), (start.Generation, start.WorldSize, start.StageIndex, start.Rank, start.StageConfig.ToStringUtf8()));
        Assert.Null(start.Recovery);
        Assert.Equal(["worker-0"], start.Peers.Select(p => p.WorkerId));
        var status = Status(run);
        Assert.Equal([StageState.Done, StageState.Running], status.Stages.Select(s => s.State));
        Assert.Empty(status.Recoveries);
        Assert.Empty(outcomes);
    }

    [Fact]
    public void Should_take_a_worker_that_registers_between_two_stage_barriers_into_the_next_stage()
    {
        var run = StartRun(world: 3, Policy(minWorkers: 2, replacementWait: TimeSpan.FromMilliseconds(300), maxRestarts: 0), Stage("clip"), Stage("clip2"));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 4 }, w0.Ref);

        var w2 = Register(run, "worker-2");
        w0.ExpectNoMsg(TimeSpan.FromMilliseconds(300));   // no abort: the stage is draining
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 4 }, w1.Ref);

        var starts = Starts(w0, w1, w2);
        Assert.All(starts, s => Assert.Equal((2L, 3, 1, (GenerationRecovery?)null), (s.Generation, s.WorldSize, s.StageIndex, s.Recovery)));
        Assert.Equal([0, 1, 2], starts.Select(s => s.Rank));
        Assert.Empty(Status(run).Recoveries);
    }

    [Fact]
    public void Should_fail_the_run_when_a_worker_lost_after_the_stage_barrier_leaves_fewer_than_min_workers()
    {
        var run = StartRun(world: 2, Policy(minWorkers: 2), Stage("clip"), Stage("clip2"));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 4 }, w0.Ref);

        Sys.Stop(w1.Ref);

        var failed = w0.ExpectMsg<RunFailed>(Wait);
        Assert.Contains("worker worker-1 (rank 1", failed.Reason);
        Assert.Contains("between stages, and 1 worker(s) are left (min_workers 2)", failed.Reason);
        AwaitAssert(() => Assert.False(Assert.Single(outcomes).Succeeded), Wait);
    }

    private RunStatus Status(IActorRef run)
    {
        run.Tell(GetRunStatus.Instance);
        return ExpectMsg<RunStatus>(Wait);
    }

    private static ScheduledStage Stage(string name) => new(name, () => Encoding.UTF8.GetBytes(name));

    private IActorRef StartRun(int world, RecoverySettings recovery, params ScheduledStage[] stages)
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(4)), "ledger");
        var settings = new RunSettings("run-a", world, Encoding.UTF8.GetBytes("stage")) { Stages = stages, Recovery = recovery };
        return Sys.ActorOf(RunActor.Props(settings, ledger, outcomes.Enqueue), "run");
    }

    private TestProbe Register(IActorRef run, string workerId) => WorkerProbes.Register(this, run, workerId);
}
