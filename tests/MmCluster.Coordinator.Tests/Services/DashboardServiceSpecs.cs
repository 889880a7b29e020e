using Grpc.Core;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Coordinator.Tests.Progress;
using MmCluster.Shared.Grpc.Dashboard;
using Xunit;
using HistoryPoint = MmCluster.Shared.Runs.HistoryPoint;

namespace MmCluster.Coordinator.Tests.Services;

public sealed class DashboardServiceSpecs
{
    private readonly RunProgressHub _hub = new(RunSnapshots.Pending());

    private DashboardService Service => new(_hub);

    [Fact]
    public async Task Should_stream_every_change_until_the_run_finishes_when_watching()
    {
        var stream = new TestServerStreamWriter<WatchReply>();
        var call = Service.Watch(new WatchRequest(), stream, TestServerCallContext.Create());

        Assert.Equal(RunState.Pending, (await stream.ReadNextAsync()).Snapshot.State);
        _hub.Publish(RunSnapshots.Running(10));
        Assert.Equal(10, (await stream.ReadNextAsync()).Snapshot.Step);
        _hub.Publish(RunSnapshots.Finished());
        Assert.Equal(RunState.Succeeded, (await stream.ReadNextAsync()).Snapshot.State);

        await call.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(stream.Drain());
    }

    [Fact]
    public async Task Should_end_quietly_when_the_watcher_goes_away()
    {
        using var cancel = new CancellationTokenSource();
        var stream = new TestServerStreamWriter<WatchReply>();
        var call = Service.Watch(new WatchRequest { MinIntervalMs = 50 }, stream, TestServerCallContext.Create(cancellationToken: cancel.Token));
        await stream.ReadNextAsync();

        await cancel.CancelAsync();

        await call.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Should_refuse_the_watch_when_the_interval_is_over_a_minute()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Service.Watch(new WatchRequest { MinIntervalMs = 60_001 }, new TestServerStreamWriter<WatchReply>(), TestServerCallContext.Create()));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("min_interval_ms", error.Status.Detail);
    }

    [Fact]
    public async Task Should_map_stages_workers_evaluation_and_ledger_when_status_is_asked()
    {
        _hub.Publish(RunSnapshots.Running(40));

        var snapshot = (await Service.GetStatus(new GetStatusRequest(), TestServerCallContext.Create())).Snapshot;

        Assert.Equal(("run-1", "demo", RunState.Running, "clip", 40L, 2), (snapshot.RunId, snapshot.RunName, snapshot.State, snapshot.Stage, snapshot.Step, snapshot.WorldSize));
        Assert.Equal([("clip", "clip", StageState.Running), ("lm", "lm", StageState.Pending)], snapshot.Stages.Select(s => (s.Name, s.Kind, s.State)));
        Assert.Equal(2.1, snapshot.Stages[0].Losses["loss"], 6);
        Assert.Equal(["clip"], snapshot.Stages[1].DependsOn);
        var worker = snapshot.Workers[0];
        Assert.Equal(("w0", 0, "127.0.0.1:7001", WorkerState.Training, 120.0, 12.0), (worker.WorkerId, worker.Rank, worker.Address, worker.State, worker.StepTimeMs, worker.CollectiveTimeMs));
        Assert.Equal(0, worker.LastHeartbeat.Seconds);
        Assert.Null(snapshot.Workers[1].LastHeartbeat);
        Assert.Equal(0.61, snapshot.LastEval.Metrics["zero_shot_top1"]);
        Assert.Equal((6400L, 3200L), (snapshot.Ledger[0].SamplesExpected, snapshot.Ledger[0].SamplesCommitted));
    }

    [Fact]
    public async Task Should_return_one_stage_s_points_when_history_is_filtered()
    {
        _hub.Record(new HistoryPoint { Stage = "clip", Step = 1, Lr = 1e-4, Losses = new Dictionary<string, double> { ["loss"] = 2 } });
        _hub.Record(new HistoryPoint { Stage = "lm", Step = 1 });
        _hub.Record(new HistoryPoint { Stage = "clip", Step = 2, Eval = new Dictionary<string, double> { ["zero_shot_top1"] = 0.5 } });

        var all = await Service.GetHistory(new GetHistoryRequest(), TestServerCallContext.Create());
        var clip = await Service.GetHistory(new GetHistoryRequest { Stage = "clip" }, TestServerCallContext.Create());

        Assert.Equal(3, all.Points.Count);
        Assert.Equal([1L, 2L], clip.Points.Select(p => p.Step));
        Assert.Equal((2.0, 1e-4), (clip.Points[0].Losses["loss"], clip.Points[0].Lr));
        Assert.Equal(0.5, clip.Points[1].Eval["zero_shot_top1"]);
    }

    [Fact]
    public async Task Should_downsample_and_count_the_recorded_points_with_their_workers_when_history_asks_for_max_points()
    {
        for (var step = 1; step <= 100; step++)
        {
            _hub.Record(new HistoryPoint
            {
                Stage = "clip",
                Step = step,
                Losses = new Dictionary<string, double> { ["loss"] = 1.0 / step },
                Workers = [new Shared.Runs.WorkerHistoryPoint { WorkerId = "w0", Step = step, ForwardBackwardMs = 80 }],
            });
        }

        var reply = await Service.GetHistory(new GetHistoryRequest { MaxPoints = 10 }, TestServerCallContext.Create());

        Assert.InRange(reply.Points.Count, 2, 10);
        Assert.Equal((100L, 100L), (reply.TotalPoints, reply.Cursor));
        Assert.Equal(reply.Points.Select(p => p.Step), reply.WorkerPoints.Select(w => w.Step));
        Assert.All(reply.WorkerPoints, w => Assert.Equal(("clip", 80.0), (w.Stage, w.ForwardBackwardMs)));
    }

    [Fact]
    public async Task Should_name_the_known_stages_when_history_asks_for_an_unknown_one()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Service.GetHistory(new GetHistoryRequest { Stage = "blip" }, TestServerCallContext.Create()));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("unknown stage 'blip' (stages: clip, lm)", error.Status.Detail);
    }

    [Fact]
    public void Should_have_a_proto_state_for_every_domain_state_when_mapping_enums()
    {
        Assert.All(Enum.GetValues<Shared.Runs.RunState>(), v => Assert.NotEqual(RunState.Unspecified, DashboardMapping.Same<RunState>(v)));
        Assert.All(Enum.GetValues<Shared.Runs.StageState>(), v => Assert.NotEqual(StageState.Unspecified, DashboardMapping.Same<StageState>(v)));
        Assert.All(Enum.GetValues<Shared.Runs.WorkerState>(), v => Assert.NotEqual(WorkerState.Unspecified, DashboardMapping.Same<WorkerState>(v)));
    }
}
