using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using StageState = MmCluster.Shared.Runs.StageState;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Actors;

/// <summary>The RunActor driving a schedule of stages over the same TestProbe workers.</summary>
public sealed class RunActorScheduleSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    private readonly ConcurrentQueue<RunOutcome> outcomes = new();

    [Fact]
    public void Should_start_the_next_stage_as_the_next_generation_when_every_worker_finished_the_stage()
    {
        var (run, ledger) = StartRun(Stage("clip"), Stage("clip2"));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        var first = new[] { w0.ExpectMsg<StartGeneration>(), w1.ExpectMsg<StartGeneration>() };
        Assert.All(first, s => Assert.Equal((1L, "clip"), (s.Generation, s.StageConfig.ToStringUtf8())));

        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 4 }, w0.Ref);
        w0.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        w1.ExpectNoMsg(TimeSpan.Zero);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 4 }, w1.Ref);

        var second = new[] { w0.ExpectMsg<StartGeneration>(), w1.ExpectMsg<StartGeneration>() };
        Assert.All(second, s => Assert.Equal((2L, "clip2", "run-a", 2), (s.Generation, s.StageConfig.ToStringUtf8(), s.RunId, s.WorldSize)));
        Assert.Equal([0, 1], second.Select(s => s.Rank));
        Assert.Equal(first[0].Peers, second[0].Peers);
        ledger.FishForMessage<BeginStageLedger>(b => b.Stage == 1);
        run.Tell(GetRunStatus.Instance);
        ExpectMsg<RunStatus>(s => s is { Stage: "clip2", Generation: 2, Phase: RunPhase.Running }
            && s.Stages.Select(x => x.State).SequenceEqual(new[] { StageState.Done, StageState.Running }));

        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 6 }, w0.Ref);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 6 }, w1.Ref);

        Assert.All(new[] { w0, w1 }, w => w.ExpectMsg<RunFinished>(f => f.Generation == 2));
        AwaitAssert(() => Assert.True(Assert.Single(outcomes).Succeeded));
        Assert.All(outcomes.Single().Final.Stages, s => Assert.Equal(StageState.Done, s.State));
    }

    [Fact]
    public void Should_start_cuda_workers_when_the_schedule_has_stages_of_every_kind()
    {
        // Every kind trains on a worker's device now: the coordinator refuses no CUDA worker for its stages' kinds.
        var (run, _) = StartRun(Stage("pretrain", "clip"), Stage("captions", "lm"), Stage("chat", "llava-instruct"), Stage("qformer", "blip2-stage1"));

        var (w0, w1) = (RegisterOn(run, "worker-0", "cuda:0"), RegisterOn(run, "worker-1", "cuda:1"));

        w0.ExpectMsg<StartGeneration>(s => s.StageConfig.ToStringUtf8() == "pretrain");
        w1.ExpectMsg<StartGeneration>();
        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 4 }, w0.Ref);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 4 }, w1.Ref);
        w0.ExpectMsg<StartGeneration>(s => s.StageConfig.ToStringUtf8() == "captions");
        w1.ExpectMsg<StartGeneration>(s => s.StageConfig.ToStringUtf8() == "captions");
    }

    [Fact]
    public void Should_give_the_ledger_every_workers_rows_per_step_before_a_generation_starts()
    {
        var ledger = CreateTestProbe();
        // A global batch of 16 over 3 ranks: 6 + 5 + 5 rows per step (BatchSplit).
        var stage = new ScheduledStage("clip", () => Encoding.UTF8.GetBytes("clip"), (world, rank) => Shared.Runs.BatchSplit.Rows(16, world, rank));
        var settings = new RunSettings("run-a", 3, ReadOnlyMemory<byte>.Empty) { Stages = [stage] };
        var run = Sys.ActorOf(RunActor.Props(settings, ledger.Ref, outcomes.Enqueue), "run");
        ledger.ExpectMsg<SubscribeLedgerStats>();
        var workers = new[] { Register(run, "worker-0"), Register(run, "worker-1"), Register(run, "worker-2") };

        var begin = ledger.ExpectMsg<BeginLedgerGeneration>();

        Assert.Equal(1, begin.Generation);
        Assert.Equal(new Dictionary<string, int> { ["worker-0"] = 6, ["worker-1"] = 5, ["worker-2"] = 5 }, begin.RowsPerStep);
        Assert.All(workers, w => w.ExpectMsg<StartGeneration>());
    }

    [Fact]
    public void Should_fail_the_run_and_the_running_stage_when_a_worker_is_lost_during_the_second_stage()
    {
        var (run, _) = StartRun(Stage("clip"), Stage("clip2"), Stage("clip3"));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        FinishStage(run, w0, w1);
        w0.ExpectMsg<StartGeneration>(s => s.Generation == 2);
        w1.ExpectMsg<StartGeneration>(s => s.Generation == 2);

        Sys.Stop(w1.Ref);

        var failed = w0.ExpectMsg<RunFailed>();
        Assert.Equal(("worker-1", 2L), (failed.WorkerId, failed.Generation));
        Assert.Contains("worker worker-1 (rank 1", failed.Reason);
        Assert.Contains("during stage 'clip2'", failed.Reason);
        AwaitAssert(() => Assert.False(Assert.Single(outcomes).Succeeded));
        var stages = outcomes.Single().Final.Stages;
        Assert.Equal([StageState.Done, StageState.Failed, StageState.Pending], stages.Select(s => s.State));
        Assert.Contains("worker-1", stages[1].Error);
    }

    [Fact]
    public void Should_fail_the_run_naming_the_stage_and_its_missing_input_when_a_stage_cannot_start()
    {
        var missing = new ScheduledStage("blip2-stage1", () =>
            throw new InvalidOperationException("stage 'blip2-stage1' starts from stage 'clip', but there is no committed checkpoint of 'clip' under /runs/x/checkpoints/clip"));
        var (run, _) = StartRun(Stage("clip"), missing, Stage("blip2-stage2"));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));

        FinishStage(run, w0, w1);

        var failed = w0.ExpectMsg<RunFailed>();
        w1.ExpectMsg<RunFailed>();
        Assert.Contains("stage 'blip2-stage1' cannot start", failed.Reason);
        Assert.Contains("/runs/x/checkpoints/clip", failed.Reason);
        AwaitAssert(() => Assert.Single(outcomes));
        Assert.Equal([StageState.Done, StageState.Failed, StageState.Pending], outcomes.Single().Final.Stages.Select(s => s.State));
    }

    [Fact]
    public void Should_keep_each_stage_s_ledger_counts_when_the_ledger_reports_per_stage()
    {
        var (run, _) = StartRun(Stage("clip"), Stage("clip2"));
        var (w0, w1) = (Register(run, "worker-0"), Register(run, "worker-1"));
        run.Tell(new LedgerStats([Epoch(0, 640)]) { Stage = 0 });
        FinishStage(run, w0, w1);
        run.Tell(new LedgerStats([Epoch(0, 320), Epoch(1, 320)]) { Stage = 1 });

        run.Tell(GetRunStatus.Instance);

        var snapshot = ExpectMsg<RunStatus>();
        Assert.Equal([640L], snapshot.Stages[0].Ledger.Epochs.Select(e => e.SamplesExpected));
        Assert.Equal([320L, 320L], snapshot.Stages[1].Ledger.Epochs.Select(e => e.SamplesExpected));
        Assert.Equal(2, snapshot.Ledger.Epochs.Count);
    }

    private static EpochLedgerStats Epoch(int epoch, long samples) => new(epoch, 4, 0, 0, 0, 4, samples, samples, 0, 0, 0, true);

    private static ScheduledStage Stage(string name) => new(name, () => Encoding.UTF8.GetBytes(name));

    private static ScheduledStage Stage(string name, string kind) => Stage(name) with { Kind = kind };

    private TestProbe RegisterOn(IActorRef run, string workerId, string device) =>
        WorkerProbes.Register(this, run, workerId, $"{workerId}-{device.Replace(':', '-')}", device);

    private void FinishStage(IActorRef run, TestProbe w0, TestProbe w1)
    {
        w0.ExpectMsg<StartGeneration>();
        w1.ExpectMsg<StartGeneration>();
        run.Tell(new WorkerFinished { WorkerId = "worker-0", Step = 4 }, w0.Ref);
        run.Tell(new WorkerFinished { WorkerId = "worker-1", Step = 4 }, w1.Ref);
    }

    private (IActorRef Run, TestProbe Ledger) StartRun(params ScheduledStage[] stages)
    {
        var ledger = CreateTestProbe();
        ledger.IgnoreMessages<BeginLedgerGeneration>();   // its shares: ShardLedgerShareSpecs, RunActorScheduleSpecs
        var settings = new RunSettings("run-a", 2, ReadOnlyMemory<byte>.Empty) { Stages = stages };
        var run = Sys.ActorOf(RunActor.Props(settings, ledger.Ref, outcomes.Enqueue), "run");
        ledger.ExpectMsg<SubscribeLedgerStats>();
        return (run, ledger);
    }

    private TestProbe Register(IActorRef run, string workerId) => WorkerProbes.Register(this, run, workerId);
}
