using Akka.Actor;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Ledger;
using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Runs;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Progress;

public sealed class RunProgressFeedActorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static RunStatus Run(RunPhase phase, long step, string? failure = null) => new(
        "run-1", 1, phase, 2,
        [
            new WorkerStatus("w0", 0, "akka.tcp://mm@127.0.0.1:1", "127.0.0.1:7001", "cpu", 1,
                Report(step, 2.0, 100, 200, 50), phase == RunPhase.Finished, DateTimeOffset.UtcNow),
            new WorkerStatus("w1", 1, "akka.tcp://mm@127.0.0.1:2", "127.0.0.1:7002", "cpu", 1,
                Report(step - 1, 1.0, 120, 200, 150), phase == RunPhase.Finished, null),
        ],
        new LedgerStats([new EpochLedgerStats(0, 10, 0, 0, 0, 10, 640, 600, 40, 0, 0, false)]),
        null, null, failure, DateTimeOffset.UtcNow);

    [Fact]
    public void Should_publish_translated_snapshots_and_record_history_when_the_run_actor_reports()
    {
        var runActor = CreateTestProbe();
        var hub = new RunProgressHub(RunSnapshots.Pending());
        var feed = Sys.ActorOf(RunProgressFeedActor.Props(runActor.Ref, hub, "clip"), "dashboard-feed");
        Assert.Equal(feed, runActor.ExpectMsg<SubscribeRunStatus>().Subscriber);

        feed.Tell(Run(RunPhase.Running, 5));
        AwaitAssert(() => Assert.Equal(RunState.Running, hub.Current.State));
        var running = hub.Current;
        Assert.Equal((5L, 1.5, 220.0, 0.5), (running.Step, running.Loss, running.SamplesPerSecond, running.CollectiveFraction));
        Assert.Equal(("127.0.0.1:7002", WorkerState.Training), (running.Workers[1].Address, running.Workers[1].State));
        Assert.Equal(new LedgerCounters("clip", 0, 640, 600, 0, 0), Assert.Single(running.Ledger));
        var clip = running.Stages.Single(s => s.Name == "clip");
        Assert.Equal((StageState.Running, 5L, 640L, 1.5), (clip.State, clip.Step, clip.SamplesSeen, clip.Losses["loss"]));

        feed.Tell(Run(RunPhase.Failed, 6, "worker w1 left"));
        AwaitAssert(() => Assert.Equal(RunState.Failed, hub.Current.State));
        Assert.Equal("worker w1 left", hub.Current.Error);
        Assert.Equal(StageState.Failed, hub.Current.Stages.Single(s => s.Name == "clip").State);
        Assert.Equal(StageState.Pending, hub.Current.Stages.Single(s => s.Name == "lm").State);
        Assert.Equal(5L, Assert.Single(hub.History).Step);

        Sys.Stop(feed);
        runActor.ExpectMsg<UnsubscribeRunStatus>();
    }

    [Fact]
    public void Should_carry_skipped_rows_by_reason_and_file_and_a_not_run_epoch_when_the_ledger_has_them()
    {
        var runActor = CreateTestProbe();
        var hub = new RunProgressHub(RunSnapshots.Pending());
        var feed = Sys.ActorOf(RunProgressFeedActor.Props(runActor.Ref, hub, "clip"), "dashboard-feed");
        runActor.ExpectMsg<SubscribeRunStatus>();
        var reasons = new Dictionary<string, long> { ["EmptyCaption"] = 2, ["PathOutsideManifest"] = 1 };
        var ledger = new LedgerStats(
        [
            new EpochLedgerStats(0, 10, 0, 0, 0, 10, 640, 600, 0, 0, 37, true)
            {
                SkippedCommitted = 3, SkippedByReason = reasons, SkippedByFile = [new FileLedgerStats("part-1.parquet", 64, 61, reasons)],
            },
            new EpochLedgerStats(1, 10, 8, 2, 0, 0, 640, 0, 0, 0, 0, false) { Ran = false },
        ]);

        feed.Tell(Run(RunPhase.Running, 5) with { Ledger = ledger });

        AwaitAssert(() => Assert.Equal(2, hub.Current.Ledger.Count));
        var (first, second) = (hub.Current.Ledger[0], hub.Current.Ledger[1]);
        Assert.Equal((true, 3L, 37L), (first.Ran, first.Skipped, first.Missing));
        Assert.Equal(reasons, first.SkippedByReason);
        Assert.Equal(new FileSkipCounters("part-1.parquet", 64, 61, reasons), Assert.Single(first.SkippedByFile));
        Assert.Equal((false, 0L), (second.Ran, second.Missing));
        Assert.Equal(reasons, Assert.Single(hub.History).Skipped);
    }

    [Fact]
    public void Should_keep_the_finished_stage_and_follow_the_next_when_the_schedule_moves_on()
    {
        var runActor = CreateTestProbe();
        var hub = new RunProgressHub(RunSnapshots.Pending());
        var feed = Sys.ActorOf(RunProgressFeedActor.Props(runActor.Ref, hub, "clip"), "dashboard-feed");
        runActor.ExpectMsg<SubscribeRunStatus>();
        var clipLedger = new LedgerStats([new EpochLedgerStats(0, 10, 0, 0, 0, 10, 640, 640, 0, 0, 0, true)]);
        var lmLedger = new LedgerStats([new EpochLedgerStats(0, 10, 0, 0, 0, 10, 640, 64, 0, 0, 0, false)]) { Stage = 1 };
        var clipReport = Report(100, 1.5, 100, 200, 50);
        clipReport.Losses["itc"] = 1.25;
        clipReport.Eval["zero_shot_top1"] = 0.5;
        var lmReport = Report(3, 4.0, 100, 200, 50);
        lmReport.Losses["itg"] = 4.0;

        feed.Tell(Scheduled(0, StageState.Running, StageState.Pending, clipReport, clipLedger, LedgerStats.Empty));
        feed.Tell(Scheduled(0, StageState.Done, StageState.Pending, clipReport, clipLedger, LedgerStats.Empty));
        feed.Tell(Scheduled(1, StageState.Done, StageState.Running, lmReport, clipLedger, lmLedger));

        AwaitAssert(() => Assert.Equal("lm", hub.Current.Stage));
        var (clip, lm) = (hub.Current.Stages[0], hub.Current.Stages[1]);
        Assert.Equal((StageState.Done, 100L, 1.5, 1.25, 0.5), (clip.State, clip.Step, clip.Losses["loss"], clip.Losses["itc"], clip.Eval["zero_shot_top1"]));
        Assert.Equal((StageState.Running, 3L, 4.0, 4.0), (lm.State, lm.Step, lm.Losses["loss"], lm.Losses["itg"]));
        Assert.False(lm.Losses.ContainsKey("itc"));
        Assert.Equal(["clip", "lm"], hub.Current.Ledger.Select(l => l.Stage));
        Assert.Equal([("clip", 100L), ("lm", 3L)], hub.History.Select(p => (p.Stage, p.Step)));
    }

    private static ReportProgress Report(long step, double loss, double samplesPerSecond, double stepTimeMs, double collectiveTimeMs) =>
        new() { Step = step, Loss = loss, SamplesPerSecond = samplesPerSecond, StepTimeMs = stepTimeMs, CollectiveTimeMs = collectiveTimeMs };

    private static RunStatus Scheduled(int stage, StageState clip, StageState lm, ReportProgress report,
        LedgerStats clipLedger, LedgerStats lmLedger) => new(
        "run-1", 1 + stage, RunPhase.Running, 1,
        [new WorkerStatus("w0", 0, "akka.tcp://mm@127.0.0.1:1", "127.0.0.1:7001", "cpu", 1, report, false, null)],
        stage == 0 ? clipLedger : lmLedger, null, null, null, DateTimeOffset.UtcNow)
    {
        Stages =
        [
            new StageStatus("clip", clip, 1, clipLedger, null, null, null, DateTimeOffset.UtcNow),
            new StageStatus("lm", lm, stage == 1 ? 2 : null, lmLedger, null, null, null, stage == 1 ? DateTimeOffset.UtcNow : null),
        ],
        StageIndex = stage,
    };
}
