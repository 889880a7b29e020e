using MmCluster.Coordinator.Services;
using MmCluster.Coordinator.Tests.Progress;
using MmCluster.Shared.Runs;
using Xunit;
using Proto = MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Coordinator.Tests.Services;

public sealed class DashboardMappingSpecs
{
    [Fact]
    public void Should_copy_the_run_s_scalars_and_times_when_a_snapshot_is_mapped()
    {
        var snapshot = RunSnapshots.Running(40) with
        {
            Sequence = 12,
            Epoch = 1,
            CollectiveFraction = 0.25,
            WallSeconds = 61.5,
            StartedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch.AddSeconds(61.5),
        };

        var proto = snapshot.ToProto();

        Assert.Equal(("run-1", "demo", Proto.RunState.Running, 12UL, "clip", 1, 40L), (proto.RunId, proto.RunName, proto.State, proto.Sequence, proto.Stage, proto.Epoch, proto.Step));
        Assert.Equal((400.0, snapshot.Loss, 1e-3, 2, 0.25, 61.5), (proto.SamplesPerS, proto.Loss, proto.Lr, proto.WorldSize, proto.CollectiveFraction, proto.WallS));
        Assert.Equal(DateTimeOffset.UnixEpoch, proto.StartedAt.ToDateTimeOffset());
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(61.5), proto.UpdatedAt.ToDateTimeOffset());
        Assert.Equal("", proto.Error);
    }

    [Fact]
    public void Should_keep_each_stage_s_losses_and_eval_in_its_own_row_when_stages_are_mapped()
    {
        var running = RunSnapshots.Running(40);
        var snapshot = running with
        {
            Stages =
            [
                running.Stages[0] with { Eval = new Dictionary<string, double> { ["i2t_r5"] = 0.118 }, SamplesSeen = 5120, WallSeconds = 9 },
                running.Stages[1] with { Losses = new Dictionary<string, double> { ["itg"] = 4.0 }, Eval = new Dictionary<string, double> { ["i2t_r1"] = 0.84 } },
            ],
        };

        var proto = snapshot.ToProto();

        var (clip, lm) = (proto.Stages[0], proto.Stages[1]);
        Assert.Equal(("clip", "clip", Proto.StageState.Running, 40L, 100L, 5120L, 9.0), (clip.Name, clip.Kind, clip.State, clip.Step, clip.TotalSteps, clip.SamplesSeen, clip.WallS));
        Assert.Equal((running.Loss, 0.118), (clip.Losses["loss"], clip.Eval["i2t_r5"]));
        Assert.False(clip.Eval.ContainsKey("i2t_r1"));
        Assert.Equal(("lm", "lm", 4.0, 0.84), (lm.Name, lm.Kind, lm.Losses["itg"], lm.Eval["i2t_r1"]));
        Assert.False(lm.Eval.ContainsKey("i2t_r5"));
        Assert.Equal(["clip"], lm.DependsOn);
    }

    [Fact]
    public void Should_map_workers_ledger_and_last_evaluation_when_the_run_has_them()
    {
        var snapshot = RunSnapshots.Finished(RunState.Failed);

        var proto = snapshot.ToProto();

        var worker = proto.Workers[0];
        Assert.Equal(("w0", 0, "127.0.0.1:7001", Proto.WorkerState.Training, 100L, 120.0, 12.0, 200.0),
            (worker.WorkerId, worker.Rank, worker.Address, worker.State, worker.Step, worker.StepTimeMs, worker.CollectiveTimeMs, worker.SamplesPerS));
        Assert.Equal(DateTimeOffset.UnixEpoch, worker.LastHeartbeat.ToDateTimeOffset());
        Assert.Null(proto.Workers[1].LastHeartbeat);
        Assert.Equal(("clip", 0, 6400L, 3200L, 0L, 0L), Ledger(Assert.Single(proto.Ledger)));
        Assert.Equal(("clip", 50L, 0.61, DateTimeOffset.UnixEpoch), (proto.LastEval.Stage, proto.LastEval.Step, proto.LastEval.Metrics["zero_shot_top1"], proto.LastEval.At.ToDateTimeOffset()));
        Assert.Equal((Proto.RunState.Failed, "worker w1 (rank 1) left the cluster at step 100"), (proto.State, proto.Error));
    }

    [Fact]
    public void Should_map_skipped_rows_by_reason_and_file_and_whether_the_epoch_ran_when_the_ledger_has_them()
    {
        var reasons = new Dictionary<string, long> { ["ImageUndecodable"] = 4 };
        var snapshot = RunSnapshots.Finished(RunState.Succeeded) with
        {
            Ledger =
            [
                new LedgerCounters("clip", 0, 64, 60, 0, 0) { Skipped = 4, SkippedByReason = reasons, SkippedByFile = [new FileSkipCounters("a.parquet", 32, 28, reasons)] },
                new LedgerCounters("clip", 1, 64, 0, 0, 0) { Ran = false },
            ],
        };

        var proto = snapshot.ToProto();

        Assert.Equal((true, 4L, 4L), (proto.Ledger[0].Ran, proto.Ledger[0].Skipped, proto.Ledger[0].SkippedByReason["ImageUndecodable"]));
        var file = Assert.Single(proto.Ledger[0].SkippedByFile);
        Assert.Equal(("a.parquet", 32L, 28L, 4L), (file.File, file.SamplesExpected, file.SamplesCommitted, file.SkippedByReason["ImageUndecodable"]));
        Assert.False(proto.Ledger[1].Ran);
    }

    [Fact]
    public void Should_leave_the_optional_messages_unset_when_the_run_has_no_evaluation_or_heartbeat_yet()
    {
        var proto = RunSnapshots.Pending().ToProto();

        Assert.Null(proto.LastEval);
        Assert.Empty(proto.Workers);
        Assert.Equal(("", Proto.RunState.Pending), (proto.Stage, proto.State));
        Assert.All(proto.Stages, s => Assert.Equal(Proto.StageState.Pending, s.State));
    }

    [Fact]
    public void Should_map_a_training_point_and_an_evaluation_point_when_history_is_mapped()
    {
        var training = new HistoryPoint
        {
            Stage = "clip", Step = 3, Epoch = 1, WallSeconds = 2.5, Lr = 1e-4, SamplesPerSecond = 512,
            Losses = new Dictionary<string, double> { ["loss"] = 2.3, ["itc"] = 1.1 },
        };
        var evaluation = new HistoryPoint { Stage = "clip", Step = 4, Eval = new Dictionary<string, double> { ["zero_shot_top1"] = 0.5 } };

        var (train, eval) = (training.ToProto(), evaluation.ToProto());

        Assert.Equal(("clip", 3L, 1, 2.5, 1e-4, 512.0), (train.Stage, train.Step, train.Epoch, train.WallS, train.Lr, train.SamplesPerS));
        Assert.Equal((2.3, 1.1), (train.Losses["loss"], train.Losses["itc"]));
        Assert.Empty(train.Eval);
        Assert.Equal(0.5, Assert.Single(eval.Eval).Value);
        Assert.Empty(eval.Losses);
    }

    [Fact]
    public void Should_find_a_proto_value_of_the_same_name_when_any_state_is_mapped()
    {
        Assert.All(Enum.GetValues<RunState>(), s => Assert.Equal(s.ToString(), DashboardMapping.Same<Proto.RunState>(s).ToString()));
        Assert.All(Enum.GetValues<StageState>(), s => Assert.Equal(s.ToString(), DashboardMapping.Same<Proto.StageState>(s).ToString()));
        Assert.All(Enum.GetValues<WorkerState>(), s => Assert.Equal(s.ToString(), DashboardMapping.Same<Proto.WorkerState>(s).ToString()));
    }

    private static (string, int, long, long, long, long) Ledger(Proto.LedgerCounters l) =>
        (l.Stage, l.Epoch, l.SamplesExpected, l.SamplesCommitted, l.Duplicates, l.Missing);

    [Fact]
    public void Should_copy_each_worker_s_step_split_straggler_flag_host_age_and_lanes_when_workers_are_mapped()
    {
        var snapshot = RunSnapshots.Running(40) with
        {
            Workers =
            [
                new WorkerProgress
                {
                    WorkerId = "w0",
                    Rank = 0,
                    ForwardBackwardMs = 90,
                    GradAverageMs = 20,
                    OptimizerMs = 5,
                    Straggler = true,
                    Host = "node-a",
                    LastReportAgeSeconds = 1.5,
                    Lanes = ["Forward/0: shm", "Backward/0: grpc (other host)"],
                },
            ],
        };

        var worker = Assert.Single(snapshot.ToProto().Workers);

        Assert.Equal((90.0, 20.0, 5.0, true, "node-a", 1.5), (worker.ForwardBackwardMs, worker.GradAverageMs, worker.OptimizerMs, worker.Straggler, worker.Host, worker.LastReportAgeS));
        Assert.Equal(["Forward/0: shm", "Backward/0: grpc (other host)"], worker.Lanes);
    }
}
