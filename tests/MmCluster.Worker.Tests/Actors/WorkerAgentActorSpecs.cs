using System.Collections.Concurrent;
using Akka.TestKit.Xunit2;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Worker.Actors;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Worker.Tests.Actors;

/// <summary>The worker's agent against a TestProbe coordinator.</summary>
public sealed class WorkerAgentActorSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    private readonly RecordingSession session = new();

    [Fact]
    public async Task Should_lease_a_shard_for_the_trainer_when_the_coordinator_had_none_at_first()
    {
        var (coordinator, control) = StartGeneration();

        var none = control.TryNextShardAsync(epoch: 2);
        var first = coordinator.ExpectMsg<RequestShard>(r => r.Epoch == 2 && r.WorkerId == "worker-3");
        coordinator.Reply(new NoShardAvailable { RequestId = first.RequestId, Epoch = 2, RetryAfterMs = 20 });
        Assert.Equal(new ShardOffer(null, AllLeased: true), await none.WaitAsync(TimeSpan.FromSeconds(3)));
        var next = control.TryNextShardAsync(epoch: 2);
        var again = coordinator.ExpectMsg<RequestShard>(r => r.Epoch == 2);
        coordinator.Reply(new ShardLeased { RequestId = again.RequestId, Epoch = 2, ShardId = 5, File = "a.parquet", RowGroupCount = 1, RowCount = 64 });

        var lease = (await next.WaitAsync(TimeSpan.FromSeconds(3))).Lease;
        Assert.NotEqual(first.RequestId, again.RequestId);
        Assert.Equal((2, 5, "a.parquet", 64L), (lease!.Epoch, lease.Shard.ShardId, lease.Shard.File, lease.Shard.RowCount));

        control.CompleteShard(lease, 60, step: 17, new Dictionary<string, long> { ["EmptyCaption"] = 3, ["ImageUndecodable"] = 1 });
        var completed = coordinator.ExpectMsg<ShardCompleted>(c => c is { ShardId: 5, Epoch: 2, RowsConsumed: 60, Step: 17, WorkerId: "worker-3" });
        Assert.Equal((3L, 1L, 2), (completed.SkippedByReason["EmptyCaption"], completed.SkippedByReason["ImageUndecodable"], completed.SkippedByReason.Count));
    }

    [Fact]
    public async Task Should_read_a_continued_shard_from_its_next_row_when_the_lease_carries_skip_rows()
    {
        var (coordinator, control) = StartGeneration();

        var next = control.TryNextShardAsync(epoch: 1);
        var request = coordinator.ExpectMsg<RequestShard>();
        coordinator.Reply(new ShardLeased { RequestId = request.RequestId, Epoch = 1, ShardId = 9, File = "b.parquet", RowGroupCount = 1, FirstRow = 100, RowCount = 50, SkipRows = 37 });

        var lease = (await next.WaitAsync(TimeSpan.FromSeconds(3))).Lease!;
        Assert.Equal((100L, 50L, 37L), (lease.Shard.FirstRow, lease.Shard.RowCount, lease.Shard.SkipRows));
    }

    [Fact]
    public async Task Should_fail_pending_calls_and_tell_the_session_when_the_coordinator_aborts_the_generation()
    {
        var (coordinator, control) = StartGeneration();
        var pending = control.TryNextShardAsync(epoch: 0);
        coordinator.ExpectMsg<RequestShard>();

        coordinator.Send(coordinator.LastSender, new AbortGeneration { RunId = "r", Generation = 1, Reason = "worker-9 was lost" });

        var error = await Assert.ThrowsAsync<GenerationAbortedException>(() => pending.WaitAsync(TimeSpan.FromSeconds(3)));
        Assert.Contains("worker-9 was lost", error.Message);
        control.ReportAborted(1, completedStep: 41, "generation 1 aborted", lostPeerRank: null);
        var aborted = coordinator.ExpectMsg<GenerationAborted>();
        Assert.Equal(("worker-3", 1L, 41L), (aborted.WorkerId, aborted.Generation, aborted.CompletedStep));
    }

    [Fact]
    public async Task Should_return_no_lease_when_the_epoch_is_complete()
    {
        var (coordinator, control) = StartGeneration();

        var next = control.TryNextShardAsync(epoch: 0);
        var request = coordinator.ExpectMsg<RequestShard>();
        coordinator.Reply(new EpochCompleted { RequestId = request.RequestId, Epoch = 0, SamplesExpected = 100 });

        Assert.Equal(new ShardOffer(null, AllLeased: false), await next.WaitAsync(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task Should_fail_pending_calls_and_end_the_session_when_the_run_fails()
    {
        var (coordinator, control) = StartGeneration();
        var next = control.TryNextShardAsync(epoch: 0);
        coordinator.ExpectMsg<RequestShard>();

        coordinator.Reply(new RunFailed { Reason = "worker worker-1 (rank 1, akka.tcp://mmcluster@h:1) became unreachable mid-run", WorkerId = "worker-1" });

        var error = await Assert.ThrowsAsync<RunEndedException>(() => next.WaitAsync(TimeSpan.FromSeconds(3)));
        Assert.Contains("worker-1", error.Message);
        AwaitAssert(() => Assert.Contains("worker worker-1", Assert.Single(session.Ended).Reason));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(null)]
    public void Should_tell_the_coordinator_which_peer_is_lost_when_the_trainer_fails_on_a_broken_stream(int? lostPeer)
    {
        var (coordinator, control) = StartGeneration();

        control.ReportFailed("rank 0: the stream to rank 1 (http://127.0.0.1:1) broke; did rank 1 die?", lostPeer);

        // The agent may still repeat its registration before the failure goes out.
        var failed = (WorkerFailed)coordinator.FishForMessage(m => m is WorkerFailed { WorkerId: "worker-3" }, TimeSpan.FromSeconds(20));   // 3 s default: missed once on a loaded machine
        Assert.Equal(lostPeer is not null, failed.HasLostPeerRank);
        Assert.Equal(lostPeer ?? 0, failed.LostPeerRank);
    }

    [Fact]
    public async Task Should_complete_the_commit_with_the_ledger_when_the_coordinator_confirms_it()
    {
        var (coordinator, control) = StartGeneration();

        var commit = control.CommitCheckpointAsync(300, "ckpt/300");
        coordinator.ExpectMsg<CommitCheckpoint>(c => c is { Step: 300, Path: "ckpt/300", WorkerId: "worker-3" });
        var ledger = new LedgerSnapshot { Step = 300 };
        coordinator.Reply(new CheckpointCommitted { Step = 300, Path = "ckpt/300", Ledger = ledger });

        var committed = await commit.WaitAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(ledger, LedgerSnapshot.Parser.ParseFrom(committed.Ledger.Span));
    }

    [Fact]
    public void Should_start_the_session_again_when_the_next_stage_arrives_after_the_trainer_finished()
    {
        var (coordinator, control) = StartGeneration();
        var early = new StartGeneration { RunId = "r", Generation = 2, Rank = 0, WorldSize = 1, StageConfig = Google.Protobuf.ByteString.CopyFromUtf8("stage-1") };

        coordinator.Reply(early);
        coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Single(session.Started);
        control.ReportFinished(4);
        coordinator.ExpectMsg<WorkerFinished>(f => f is { WorkerId: "worker-3", Step: 4 });
        coordinator.Reply(early);

        AwaitAssert(() => Assert.Equal(2, session.Started.Count));
        var second = session.Started.Last();
        Assert.Equal((2L, "stage-1"), (second.Generation, System.Text.Encoding.UTF8.GetString(second.StageConfig.Span)));
        coordinator.Reply(new StartGeneration { RunId = "r", Generation = 2, Rank = 0, WorldSize = 1 });
        coordinator.Reply(new StartGeneration { RunId = "other", Generation = 3, Rank = 0, WorldSize = 1 });
        coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(2, session.Started.Count);
    }

    [Theory]
    [InlineData(45_000L, 45.0)]
    [InlineData(0L, null)]
    public async Task Should_end_the_membership_and_say_how_long_to_wait_for_a_restarted_coordinator_when_the_coordinator_dies(long waitMs, double? rejoinSeconds)
    {
        var (coordinator, control) = StartGeneration(coordinatorWaitMs: waitMs);
        var pending = control.TryNextShardAsync(epoch: 0);
        coordinator.ExpectMsg<RequestShard>();

        Sys.Stop(coordinator.Ref);

        await Assert.ThrowsAsync<RunEndedException>(() => pending.WaitAsync(TimeSpan.FromSeconds(3)));
        AwaitAssert(() => Assert.Single(session.Ended));
        var ended = session.Ended.Single();
        Assert.Contains("coordinator", ended.Reason);
        Assert.Contains("terminated", ended.Reason);
        Assert.Equal(rejoinSeconds, ended.RejoinWithin?.TotalSeconds);
        Assert.Equal((false, 1), (ended.Final, ended.ExitCode));
    }

    [Fact]
    public void Should_end_as_done_with_exit_code_0_when_the_coordinator_answers_its_registration_that_the_run_finished()
    {
        var coordinator = CreateTestProbe();
        Sys.ActorOf(WorkerAgentActor.Props(new WorkerAgentSettings("worker-3", "http://w3:5100", "cpu", 2), session, coordinator.Ref), "worker-agent");
        coordinator.ExpectMsg<RegisterWorker>(TimeSpan.FromSeconds(20));

        coordinator.Reply(new RunFinished { RunId = "r", Generation = 4 });   // a late replacement: the run ended before it came up

        AwaitAssert(() => Assert.Single(session.Ended));
        var ended = session.Ended.Single();
        Assert.Equal((true, 0), (ended.Succeeded, ended.ExitCode));
        Assert.Empty(session.Started);
    }

    private (Akka.TestKit.TestProbe Coordinator, IControlPlane Control) StartGeneration(long coordinatorWaitMs = 0)
    {
        var coordinator = CreateTestProbe();
        Sys.ActorOf(WorkerAgentActor.Props(new WorkerAgentSettings("worker-3", "http://w3:5100", "cpu", 2), session, coordinator.Ref), "worker-agent");
        coordinator.ExpectMsg<RegisterWorker>(r => r is { WorkerId: "worker-3", CollectiveAddress: "http://w3:5100", Threads: 2 }, TimeSpan.FromSeconds(20));   // 3 s default: missed in CI on a loaded machine
        coordinator.Reply(new StartGeneration
        {
            RunId = "r", Generation = 1, Rank = 0, WorldSize = 1, Peers = { new Peer { Rank = 0, WorkerId = "worker-3" } }, CoordinatorWaitMs = coordinatorWaitMs,
        });
        AwaitAssert(() => Assert.Single(session.Started));
        return (coordinator, session.Control!);
    }

    private sealed class RecordingSession : ITrainingSession
    {
        public ConcurrentQueue<GenerationInfo> Started { get; } = new();
        public ConcurrentQueue<RunEnded> Ended { get; } = new();
        private volatile IControlPlane? control;

        public IControlPlane? Control => control;

        public void OnGenerationStarted(GenerationInfo generation, IControlPlane control)
        {
            this.control = control;
            Started.Enqueue(generation);
        }

        public void OnGenerationAborted(long generation, string reason)
        {
        }

        public void OnRunEnded(RunEnded ended) => Ended.Enqueue(ended);
    }
}
