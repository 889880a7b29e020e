using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Actors;

public sealed class RunActorSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    private readonly ConcurrentQueue<RunOutcome> outcomes = new();

    [Fact]
    public void Should_wait_for_the_world_size_before_starting_the_generation()
    {
        var (run, _) = StartRun(world: 3);
        var first = Register(run, "worker-1");
        var second = Register(run, "worker-0");

        first.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        second.ExpectNoMsg(TimeSpan.Zero);
        run.Tell(GetRunStatus.Instance);
        ExpectMsg<RunStatus>(s => s.Phase == RunPhase.WaitingForWorkers && s.Workers.Count == 2);

        var third = Register(run, "worker-2");
        Assert.All(new[] { first, second, third }, w => w.ExpectMsg<StartGeneration>());
    }

    [Fact]
    public void Should_assign_distinct_ranks_and_the_same_peer_table_when_the_world_registers()
    {
        var (run, _) = StartRun(world: 3);
        var ids = new[] { "worker-10", "worker-2", "worker-0" };
        var probes = ids.Select(id => Register(run, id)).ToList();

        var starts = probes.Select(p => p.ExpectMsg<StartGeneration>()).ToList();

        Assert.Equal([2, 1, 0], starts.Select(s => s.Rank));
        Assert.All(starts, s => Assert.Equal((3, "run-a", 1L, """{"stage":"clip"}""", 0L), (s.WorldSize, s.RunId, s.Generation, s.StageConfig.ToStringUtf8(), s.CoordinatorWaitMs)));
        Assert.All(starts, s => Assert.Equal(starts[0].Peers, s.Peers));
        Assert.Equal(["worker-0", "worker-2", "worker-10"], starts[0].Peers.Select(p => p.WorkerId));
        Assert.Equal([0, 1, 2], starts[0].Peers.Select(p => p.Rank));
        Assert.Equal("http://worker-2:5100", starts[0].Peers[1].CollectiveAddress);
    }

    [Fact]
    public void Should_fail_the_run_naming_the_worker_when_a_worker_terminates_mid_run()
    {
        var (run, _) = StartRun(world: 2);
        var survivor = Register(run, "worker-0");
        var doomed = Register(run, "worker-1");
        survivor.ExpectMsg<StartGeneration>();
        doomed.ExpectMsg<StartGeneration>();

        Sys.Stop(doomed.Ref);

        var failed = survivor.ExpectMsg<RunFailed>();
        Assert.Equal("worker-1", failed.WorkerId);
        Assert.Contains("worker worker-1 (rank 1", failed.Reason);
        AwaitAssert(() => Assert.Contains(outcomes, o => !o.Succeeded && o.Message.Contains("worker-1") && o.Final.Phase == RunPhase.Failed));
    }

    [Fact]
    public void Should_fail_the_run_naming_the_worker_and_its_reason_when_a_worker_reports_a_failure()
    {
        var (run, _) = StartRun(world: 2);
        var survivor = Register(run, "worker-0");
        var failing = Register(run, "worker-1");
        survivor.ExpectMsg<StartGeneration>();
        failing.ExpectMsg<StartGeneration>();

        run.Tell(new WorkerFailed { WorkerId = "worker-1", Reason = "shards/part-7.parquet: unreadable Parquet footer" }, failing.Ref);

        var failed = survivor.ExpectMsg<RunFailed>();
        Assert.Equal("worker-1", failed.WorkerId);
        Assert.Contains("worker worker-1 (rank 1", failed.Reason);
        Assert.EndsWith("failed: shards/part-7.parquet: unreadable Parquet footer", failed.Reason);
        AwaitAssert(() => Assert.Contains(outcomes, o => !o.Succeeded && o.Message.Contains("unreadable Parquet footer") && o.Final.Phase == RunPhase.Failed));
    }

    [Fact]
    public void Should_lead_with_the_lost_peer_when_a_survivor_reports_its_collective_stream_to_it_broke()
    {
        var (run, _) = StartRun(world: 2);
        var survivor = Register(run, "worker-0");
        var dead = Register(run, "worker-1");
        survivor.ExpectMsg<StartGeneration>();
        dead.ExpectMsg<StartGeneration>();

        run.Tell(new WorkerFailed
        {
            WorkerId = "worker-0", Reason = "rank 0: the stream to rank 1 (http://127.0.0.1:1) broke; did rank 1 die?", LostPeerRank = 1,
        }, survivor.Ref);

        var failed = survivor.ExpectMsg<RunFailed>();
        Assert.Equal("worker-1", failed.WorkerId);
        Assert.StartsWith("worker worker-1 (rank 1", failed.Reason);
        Assert.Contains("was lost mid-run: worker worker-0 (rank 0", failed.Reason);
        AwaitAssert(() => Assert.Contains(outcomes, o => !o.Succeeded && o.Message.Contains("run run-a failed: worker worker-1 (rank 1")));
    }

    [Fact]
    public void Should_blame_the_reporter_when_its_failure_names_no_lost_peer()
    {
        var (run, _) = StartRun(world: 2);
        var reporter = Register(run, "worker-0");
        var other = Register(run, "worker-1");
        reporter.ExpectMsg<StartGeneration>();
        other.ExpectMsg<StartGeneration>();

        run.Tell(new WorkerFailed { WorkerId = "worker-0", Reason = "rank 1 refused this rank's call (Unauthenticated: ...)" }, reporter.Ref);

        var failed = other.ExpectMsg<RunFailed>();
        Assert.Equal("worker-0", failed.WorkerId);
        Assert.StartsWith("worker worker-0 (rank 0", failed.Reason);
    }

    [Fact]
    public void Should_keep_waiting_when_a_worker_terminates_before_the_run_starts()
    {
        var (run, _) = StartRun(world: 2);
        var early = Register(run, "worker-0");
        Watch(early.Ref);
        Sys.Stop(early.Ref);
        ExpectTerminated(early.Ref);
        AwaitAssert(() =>
        {
            run.Tell(GetRunStatus.Instance);
            Assert.Empty(ExpectMsg<RunStatus>().Workers);
        });
        var replacement = Register(run, "worker-9");

        var late = Register(run, "worker-1");

        Assert.Equal(0, replacement.ExpectMsg<StartGeneration>(TimeSpan.FromSeconds(3)).Peers.Count(p => p.WorkerId == "worker-0"));
        late.ExpectMsg<StartGeneration>();
        Assert.Empty(outcomes);
    }

    [Fact]
    public void Should_forward_shard_traffic_to_the_ledger_with_the_worker_as_sender()
    {
        var (run, ledger) = StartRun(world: 1);
        var worker = Register(run, "worker-0");
        worker.ExpectMsg<StartGeneration>();

        run.Tell(new RequestShard { WorkerId = "worker-0", Epoch = 0, RequestId = 1 }, worker.Ref);

        ledger.ExpectMsg<RequestShard>(r => r.RequestId == 1);
        Assert.Equal(worker.Ref, ledger.LastSender);
    }

    [Fact]
    public void Should_commit_the_ledger_once_every_rank_voted_for_the_step()
    {
        var (run, ledger) = StartRun(world: 2);
        var w0 = Register(run, "worker-0");
        var w1 = Register(run, "worker-1");
        w0.ExpectMsg<StartGeneration>();
        w1.ExpectMsg<StartGeneration>();

        run.Tell(new CommitCheckpoint { WorkerId = "worker-0", Step = 50, Path = "ckpt/50" }, w0.Ref);
        ledger.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        run.Tell(new CommitCheckpoint { WorkerId = "worker-1", Step = 50 }, w1.Ref);
        ledger.ExpectMsg<CommitLedger>(c => c.Step == 50);
        ledger.Reply(new LedgerCommitted(50, new LedgerSnapshot { Step = 50 }));

        Assert.All(new[] { w0, w1 }, w => w.ExpectMsg<CheckpointCommitted>(c => c.Step == 50 && c.Path == "ckpt/50" && c.Ledger.Step == 50));
        run.Tell(GetRunStatus.Instance);
        ExpectMsg<RunStatus>(s => s.LastCommittedStep == 50 && s.LastCommittedPath == "ckpt/50");
    }

    [Fact]
    public void Should_finish_the_run_and_publish_snapshots_when_every_worker_finished()
    {
        var (run, _) = StartRun(world: 2);
        var subscriber = CreateTestProbe();
        run.Tell(new SubscribeRunStatus(subscriber.Ref));
        subscriber.ExpectMsg<RunStatus>(s => s.Phase == RunPhase.WaitingForWorkers);
        var w0 = Register(run, "worker-0");
        var w1 = Register(run, "worker-1");
        w0.ExpectMsg<StartGeneration>();
        w1.ExpectMsg<StartGeneration>();

        run.Tell(new ReportProgress { WorkerId = "worker-1", Rank = 1, Step = 7, Loss = 2.5, SamplesPerSecond = 300 }, w1.Ref);
        subscriber.FishForMessage<RunStatus>(s => s.Workers.Any(w => w is { WorkerId: "worker-1", Step: 7, Loss: 2.5, SamplesPerSecond: 300 }));
        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 9 }, w0.Ref);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 9 }, w1.Ref);

        w0.ExpectMsg<RunFinished>();
        w1.ExpectMsg<RunFinished>();
        subscriber.FishForMessage<RunStatus>(s => s.Phase == RunPhase.Finished);
        AwaitAssert(() => Assert.True(Assert.Single(outcomes).Succeeded));
    }

    [Fact]
    public void Should_fail_the_run_with_the_ledger_reason_when_the_ledger_faults()
    {
        var (run, _) = StartRun(world: 1);
        var worker = Register(run, "worker-0");
        worker.ExpectMsg<StartGeneration>();

        run.Tell(new LedgerFault("cannot hand out epoch 3: part-7.parquet is truncated"));

        worker.ExpectMsg<RunFailed>(f => f.Reason.Contains("part-7.parquet"));
    }

    [Fact]
    public void Should_fail_the_run_naming_who_registered_when_the_world_does_not_register_in_time()
    {
        var (run, _) = StartRun(world: 3, rendezvousTimeout: TimeSpan.FromMilliseconds(300));
        var early = Register(run, "worker-0");

        early.ExpectMsg<RunFailed>(f => f.Reason.Contains("only 1 of 3 workers registered") && f.Reason.Contains("(worker-0)"));
        AwaitAssert(() => Assert.Equal(1, Assert.Single(outcomes).ExitCode));
    }

    [Fact]
    public void Should_not_fail_a_started_run_when_the_rendezvous_timeout_passes()
    {
        var (run, _) = StartRun(world: 1, rendezvousTimeout: TimeSpan.FromMilliseconds(200));
        var worker = Register(run, "worker-0");
        worker.ExpectMsg<StartGeneration>();

        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.Empty(outcomes);
    }

    private (IActorRef Run, TestProbe Ledger) StartRun(int world, TimeSpan? rendezvousTimeout = null)
    {
        var ledger = CreateTestProbe();
        ledger.IgnoreMessages<BeginLedgerGeneration>();   // its shares: ShardLedgerShareSpecs, RunActorScheduleSpecs
        var settings = new RunSettings("run-a", world, Encoding.UTF8.GetBytes("""{"stage":"clip"}""")) { RendezvousTimeout = rendezvousTimeout };
        var run = Sys.ActorOf(RunActor.Props(settings, ledger.Ref, outcomes.Enqueue), "run");
        ledger.ExpectMsg<SubscribeLedgerStats>();
        return (run, ledger);
    }

    private TestProbe Register(IActorRef run, string workerId) => WorkerProbes.Register(this, run, workerId);
}
