using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Ledger;
using MmCluster.Coordinator.Tests.Ledger;
using MmCluster.Shared.Grpc.Control;
using Xunit;
using Xunit.Abstractions;
using static MmCluster.Coordinator.Tests.Actors.RecoveryProbes;

namespace MmCluster.Coordinator.Tests.Actors;

/// <summary>
/// The RunActor and the shard ledger across a recovery: step cursors reach the ledger, the ledger rolls back to the kept
/// step, and reports of the generation the recovery ended are fenced off.
/// </summary>
public sealed class RunActorRecoveryLedgerSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    [Fact]
    public void Should_lease_a_lost_workers_shard_to_the_next_generation_from_the_rows_its_kept_steps_trained()
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(4, rows: 10)), "ledger");
        var run = StartRun(ledger);
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        run.Tell(new RequestShard { WorkerId = "worker-1", Epoch = 0, RequestId = 1 }, w1.Ref);
        var lease = w1.ExpectMsg<ShardLeased>(Wait);
        run.Tell(Step("worker-1", generation: 1, step: 1, Cursor(lease, trained: 4)), w1.Ref);
        run.Tell(Step("worker-1", generation: 1, step: 2, Cursor(lease, trained: 8)), w1.Ref);   // in flight: no survivor completed it

        Sys.Stop(w1.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 1);

        var start = w0.ExpectMsg<StartGeneration>(Wait);
        Assert.Equal((2L, 1, 1L, 0), (start.Generation, start.WorldSize, start.Recovery.Step, start.Recovery.Epoch));
        run.Tell(new RequestShard { WorkerId = "worker-0", Epoch = 0, RequestId = 2 }, w0.Ref);
        var again = w0.ExpectMsg<ShardLeased>(Wait);
        Assert.Equal((lease.ShardId, 4L), (again.ShardId, again.SkipRows));
        Assert.Equal(4, Stats(ledger).SamplesCommitted);
        run.Tell(GetRunStatus.Instance);
        var record = Assert.Single(ExpectMsg<RunStatus>(Wait).Recoveries);
        Assert.Equal((1L, 1), (record.Step, record.LeasesReturned));
    }

    [Fact]
    public void Should_not_count_a_completion_reported_for_the_generation_a_recovery_ended()
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(4, rows: 10)), "ledger");
        var run = StartRun(ledger);
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        Sys.Stop(w1.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 0);
        w0.ExpectMsg<StartGeneration>(s => s.Generation == 2, Wait);
        run.Tell(new RequestShard { WorkerId = "worker-0", Epoch = 0, RequestId = 1 }, w0.Ref);
        var lease = w0.ExpectMsg<ShardLeased>(Wait);

        run.Tell(Completed(lease, generation: 1), w0.Ref);
        run.Tell(new RequestShard { WorkerId = "worker-0", Epoch = 0, RequestId = 2 }, w0.Ref);
        w0.ExpectMsg<ShardLeased>(Wait);   // the ledger has handled whatever the RunActor forwarded before it

        var stats = Stats(ledger);
        Assert.Equal((0, 2, 0L), (stats.DoneUncommitted, stats.Leased, stats.SamplesUncommitted));
        run.Tell(Completed(lease, generation: 2), w0.Ref);
        AwaitAssert(() => Assert.Equal((1, 10L), (Stats(ledger).DoneUncommitted, Stats(ledger).SamplesUncommitted)), Wait);
    }

    [Fact]
    public void Should_forward_step_cursors_and_completions_of_the_new_generation_only_after_a_recovery()
    {
        var ledger = CreateTestProbe();
        ledger.IgnoreMessages<BeginLedgerGeneration>();   // its shares: ShardLedgerShareSpecs, RunActorScheduleSpecs
        var run = StartRun(ledger.Ref);
        ledger.ExpectMsg<SubscribeLedgerStats>(Wait);
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        run.Tell(Step("worker-1", generation: 1, step: 3), w1.Ref);
        ledger.ExpectMsg<StepStarted>(s => s.Step == 3, Wait);
        Assert.Equal(w1.Ref, ledger.LastSender);
        Sys.Stop(w1.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 3);
        ledger.ExpectMsg<RecoverLedger>(r => r.Step == 3, Wait);
        ledger.Reply(new LedgerRecovered(3, new RecoveryResult(new LedgerSnapshot { Step = 3 }, 0, 0, FirstOpenEpoch: 2)));
        Assert.Equal(2, w0.ExpectMsg<StartGeneration>(s => s.Generation == 2, Wait).Recovery.Epoch);

        run.Tell(new ShardCompleted { WorkerId = "worker-0", Epoch = 2, ShardId = 1, RowsConsumed = 10, Step = 4, Generation = 1 }, w0.Ref);
        run.Tell(Step("worker-0", generation: 1, step: 4), w0.Ref);
        run.Tell(Step("worker-0", generation: 2, step: 4), w0.Ref);
        run.Tell(new ShardCompleted { WorkerId = "worker-0", Epoch = 2, ShardId = 1, RowsConsumed = 10, Step = 4, Generation = 2 }, w0.Ref);

        ledger.ExpectMsg<StepStarted>(s => s.Generation == 2, Wait);
        ledger.ExpectMsg<ShardCompleted>(c => c.Generation == 2, Wait);
        ledger.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Should_fail_the_run_when_the_only_holder_of_the_kept_step_is_lost_while_the_ledger_recovers()
    {
        var ledger = CreateTestProbe();
        ledger.IgnoreMessages<BeginLedgerGeneration>();   // its shares: ShardLedgerShareSpecs, RunActorScheduleSpecs
        var run = StartRun(ledger.Ref, world: 3);
        ledger.ExpectMsg<SubscribeLedgerStats>(Wait);
        var (w0, w1, w2) = (Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2"));
        Starts(w0, w1, w2);
        Sys.Stop(w2.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: 5);
        ConfirmAbort(run, w1, "worker-1", generation: 1, step: 6);
        ledger.ExpectMsg<RecoverLedger>(r => r.Step == 6, Wait);   // the ledger now commits step 6, which only worker-1 holds

        Sys.Stop(w1.Ref);
        AwaitAssert(() =>
        {
            run.Tell(GetRunStatus.Instance);
            Assert.Equal(["worker-0"], ExpectMsg<RunStatus>(Wait).Workers.Select(w => w.WorkerId));
        }, Wait);
        ledger.Reply(new LedgerRecovered(6, new RecoveryResult(new LedgerSnapshot { Step = 6 }, 0, 0, FirstOpenEpoch: 0)));

        var failed = w0.ExpectMsg<RunFailed>(Wait);
        Assert.StartsWith("worker worker-2 (rank 2", failed.Reason);
        Assert.Contains("worker worker-1 (rank 1", failed.Reason);
        Assert.Contains("no worker left holds step 6", failed.Reason);
    }

    [Fact]
    public void Should_fail_the_run_when_workers_lost_while_the_ledger_recovers_leave_fewer_than_min_workers()
    {
        var ledger = CreateTestProbe();
        ledger.IgnoreMessages<BeginLedgerGeneration>();   // its shares: ShardLedgerShareSpecs, RunActorScheduleSpecs
        var run = StartRun(ledger.Ref);
        ledger.ExpectMsg<SubscribeLedgerStats>(Wait);
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        Starts(w0, w1);
        Sys.Stop(w1.Ref);
        ConfirmAbort(run, w0, "worker-0", generation: 1, step: -1);
        ledger.ExpectMsg<RecoverLedger>(Wait);

        Sys.Stop(w0.Ref);
        AwaitAssert(() =>
        {
            run.Tell(GetRunStatus.Instance);
            Assert.Empty(ExpectMsg<RunStatus>(Wait).Workers);
        }, Wait);
        ledger.Reply(new LedgerRecovered(-1, new RecoveryResult(new LedgerSnapshot { Step = -1 }, 0, 0, FirstOpenEpoch: 0)));

        AwaitAssert(() =>
        {
            run.Tell(GetRunStatus.Instance);
            var status = ExpectMsg<RunStatus>(Wait);
            Assert.Equal(RunPhase.Failed, status.Phase);
            Assert.Contains("0 worker(s) left when the ledger recovered, fewer than min_workers 1", status.FailureReason);
        }, Wait);
    }

    private EpochLedgerStats Stats(IActorRef ledger)
    {
        ledger.Tell(GetLedgerStats.Instance);
        return ExpectMsg<LedgerStats>(Wait).Epochs.Single();
    }

    private static StepStarted Step(string workerId, long generation, long step, params LeaseCursor[] cursors)
    {
        var started = new StepStarted { WorkerId = workerId, Generation = generation, Step = step };
        started.Cursors.AddRange(cursors);
        return started;
    }

    private static LeaseCursor Cursor(ShardLeased lease, long trained) =>
        new() { Epoch = lease.Epoch, ShardId = lease.ShardId, NextRow = lease.FirstRow + trained, Trained = trained };

    private static ShardCompleted Completed(ShardLeased lease, long generation) =>
        new() { WorkerId = "worker-0", Epoch = lease.Epoch, ShardId = lease.ShardId, RowsConsumed = lease.RowCount, Step = 5, Generation = generation };

    /// <summary>Two workers (or <paramref name="world"/>), min_workers 1: a lost worker leaves a one-worker generation after a short replacement wait.</summary>
    private IActorRef StartRun(IActorRef ledger, int world = 2)
    {
        var settings = new RunSettings("run-a", world, Encoding.UTF8.GetBytes("stage"))
        {
            Recovery = Policy(minWorkers: 1, replacementWait: TimeSpan.FromMilliseconds(300)),
        };
        return Sys.ActorOf(RunActor.Props(settings, ledger), "run");
    }

    private TestProbe Register(IActorRef run, string workerId) => WorkerProbes.Register(this, run, workerId);
}
