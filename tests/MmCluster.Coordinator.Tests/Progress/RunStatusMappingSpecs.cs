using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Ledger;
using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Coordinator.Tests.Progress;

public sealed class RunStatusMappingSpecs
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch.AddHours(1);

    private static RunSnapshot Previous() => new()
    {
        RunId = "run-1",
        StartedAt = DateTimeOffset.UnixEpoch,
        Stages =
        [
            new StageProgress { Name = "clip", Kind = StageKind.Clip, TotalSteps = 100 },
            new StageProgress { Name = "s1", Kind = StageKind.Blip2Stage1, DependsOn = ["clip"], TotalSteps = 10 },
        ],
    };

    private static ReportProgress Report(long step, double loss) => new() { Step = step, Loss = loss, StepTimeMs = 200, CollectiveTimeMs = 50 };

    private static WorkerStatus Worker(int rank, ReportProgress? report) =>
        new($"w{rank}", rank, $"akka.tcp://mm@127.0.0.1:{rank + 1}", $"127.0.0.1:{7001 + rank}", "cpu", 1, report, false, Now);

    private static RunStatus Running(int stage, params WorkerStatus[] workers) => new(
        "run-1", 1 + stage, RunPhase.Running, workers.Length, workers, LedgerStats.Empty, null, null, null, Now)
    {
        Stages =
        [
            new StageStatus("clip", stage == 0 ? StageState.Running : StageState.Done, 1, LedgerStats.Empty, null, null, null, DateTimeOffset.UnixEpoch),
            new StageStatus("s1", stage == 1 ? StageState.Running : StageState.Pending, stage == 1 ? 2 : null, LedgerStats.Empty, null, null, null,
                stage == 1 ? Now.AddSeconds(-30) : null),
        ],
        StageIndex = stage,
    };

    [Fact]
    public void Should_show_each_loss_term_s_mean_over_ranks_when_ranks_report_losses()
    {
        var rank0 = Report(7, 3.0);
        rank0.Losses["itc"] = 1.0;
        rank0.Losses["itm"] = double.NaN;
        var rank1 = Report(7, 2.0);
        rank1.Losses["itc"] = 2.0;
        rank1.Losses["itm"] = 0.5;

        var snapshot = RunStatusMapping.Translate(Previous(), Running(1, Worker(0, rank0), Worker(1, rank1)), "clip");

        var s1 = snapshot.Stages[1];
        Assert.Equal((2.5, 1.5, 0.5), (s1.Losses["loss"], s1.Losses["itc"], s1.Losses["itm"]));
        Assert.Equal((2.5, 7L, "s1"), (snapshot.Loss, snapshot.Step, snapshot.Stage));
        Assert.Empty(snapshot.Stages[0].Losses);
    }

    [Fact]
    public void Should_hold_the_stage_s_step_and_loss_when_a_new_generation_of_it_has_no_report_yet()
    {
        var before = RunStatusMapping.Translate(Previous(), Running(0, Worker(0, Report(60, 2.0)), Worker(1, Report(60, 2.0))), "clip");

        var recovering = RunStatusMapping.Translate(before, Running(0, Worker(0, null), Worker(1, null)), "clip");
        var nextStage = RunStatusMapping.Translate(recovering, Running(1, Worker(0, null), Worker(1, null)), "clip");

        Assert.Equal((60L, 2.0), (recovering.Step, recovering.Loss));
        Assert.Equal(60L, recovering.Stages[0].Step);
        Assert.Equal(0L, nextStage.Step);   // a new stage starts at 0
    }

    [Fact]
    public void Should_take_lr_and_evaluation_from_rank_0_when_ranks_report_different_ones()
    {
        var rank0 = Report(40, 1.0);
        rank0.Lr = 1e-4;
        rank0.Eval["zero_shot_top1"] = 0.6;
        var rank1 = Report(41, 1.0);
        rank1.Lr = 9;
        rank1.Eval["zero_shot_top1"] = 0.1;
        rank1.Eval["i2t_r1"] = 0.3;

        var snapshot = RunStatusMapping.Translate(Previous(), Running(0, Worker(1, rank1), Worker(0, rank0)), "clip");

        Assert.Equal(1e-4, snapshot.Lr);
        Assert.Equal(0.6, Assert.Single(snapshot.Stages[0].Eval).Value);
        Assert.Equal(("clip", 40L, 0.6, Now), (snapshot.LastEval!.Stage, snapshot.LastEval.Step, snapshot.LastEval.Metrics["zero_shot_top1"], snapshot.LastEval.At));
    }

    [Fact]
    public void Should_leave_a_finished_stage_s_evaluation_alone_when_the_next_stage_evaluates_metrics_of_the_same_names()
    {
        var previous = Previous();
        previous = previous with
        {
            Stages = [previous.Stages[0] with { Eval = new Dictionary<string, double> { ["i2t_r1"] = 0.05, ["i2t_r5"] = 0.118 } }, previous.Stages[1]],
        };
        var report = Report(10, 1.0);
        report.Eval["i2t_r1"] = 0.84;

        var snapshot = RunStatusMapping.Translate(previous, Running(1, Worker(0, report)), "clip");

        Assert.Equal((0.05, 0.118), (snapshot.Stages[0].Eval["i2t_r1"], snapshot.Stages[0].Eval["i2t_r5"]));
        var only = Assert.Single(snapshot.Stages[1].Eval);
        Assert.Equal(("i2t_r1", 0.84), (only.Key, only.Value));
        Assert.Equal("s1", snapshot.LastEval!.Stage);
    }

    [Fact]
    public void Should_keep_the_stage_s_last_evaluation_and_losses_when_a_report_has_none()
    {
        var first = Report(5, 2.0);
        first.Losses["itc"] = 1.5;
        first.Eval["zero_shot_top1"] = 0.4;
        var earlier = RunStatusMapping.Translate(Previous(), Running(0, Worker(0, first)), "clip");

        var later = RunStatusMapping.Translate(earlier, Running(0, Worker(0, Report(6, 1.75))), "clip");

        var clip = later.Stages[0];
        Assert.Equal((0.4, 1.5, 1.75, 6L), (clip.Eval["zero_shot_top1"], clip.Losses["itc"], clip.Losses["loss"], clip.Step));
        Assert.Same(earlier.LastEval, later.LastEval);
    }

    [Fact]
    public void Should_count_the_samples_the_ranks_trained_when_the_ledger_has_seen_fewer_whole_shards()
    {
        var rank0 = Report(10, 1.0);
        rank0.Samples = 640;
        var rank1 = Report(10, 1.0);
        rank1.Samples = 640;
        var status = Running(0, Worker(0, rank0), Worker(1, rank1)) with
        {
            Ledger = new LedgerStats([new EpochLedgerStats(0, 10, 0, 0, 0, 10, 6400, 1000, 0, 0, 0, false)]),
        };

        var snapshot = RunStatusMapping.Translate(Previous(), status, "clip");

        Assert.Equal(1280L, snapshot.Stages[0].SamplesSeen);
    }

    [Fact]
    public void Should_show_workers_without_progress_when_they_have_not_reported()
    {
        var joining = Worker(-1, null);
        var ranked = Worker(0, null);

        var snapshot = RunStatusMapping.Translate(Previous(), Running(0, ranked, joining), "clip");

        Assert.Equal([(WorkerState.Training, 0L), (WorkerState.Joining, 0L)], snapshot.Workers.Select(w => (w.State, w.Step)));
        Assert.True(double.IsNaN(snapshot.Loss));
        Assert.Empty(snapshot.Stages[0].Losses);
        Assert.Null(snapshot.LastEval);
    }

    [Fact]
    public void Should_time_the_running_stage_from_its_start_when_the_schedule_gives_one()
    {
        var snapshot = RunStatusMapping.Translate(Previous(), Running(1, Worker(0, Report(1, 1.0))), "clip");

        Assert.Equal((3600.0, 30.0), (snapshot.WallSeconds, snapshot.Stages[1].WallSeconds));
        Assert.Equal([StageState.Done, StageState.Running], snapshot.Stages.Select(s => s.State));
    }

    [Fact]
    public void Should_pass_phases_host_lanes_and_report_age_and_flag_the_straggler_when_workers_report_them()
    {
        var rank0 = Report(7, 2.0);
        rank0.Phases = new StepPhases { ForwardBackwardMs = 120, AverageGradientsMs = 30, OptimizerMs = 10 };
        rank0.Host = "node-a";
        rank0.Lanes.Add("Forward/0: shm");
        var rank1 = Report(7, 2.0);
        rank1.CollectiveTimeMs = 2;   // waits least: the others wait for it
        var late = Worker(0, rank0) with { LastReportAt = Now.AddSeconds(-3) };

        var workers = RunStatusMapping.Translate(Previous(), Running(0, late, Worker(1, rank1)), "clip").Workers;

        Assert.Equal((120.0, 30.0, 10.0), (workers[0].ForwardBackwardMs, workers[0].GradAverageMs, workers[0].OptimizerMs));
        Assert.Equal(("node-a", "127.0.0.1"), (workers[0].Host, workers[1].Host));
        Assert.Equal(["Forward/0: shm"], workers[0].Lanes);
        Assert.Equal((3.0, 0.0), (workers[0].LastReportAgeSeconds, workers[1].LastReportAgeSeconds));
        Assert.Equal((false, true), (workers[0].Straggler, workers[1].Straggler));
    }
}
