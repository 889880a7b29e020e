using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Runs;
using Xunit;

namespace MmCluster.Coordinator.Tests.Progress;

public sealed class RunProgressHubSpecs
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Should_give_a_subscriber_the_current_snapshot_first_when_it_subscribes()
    {
        var hub = new RunProgressHub(RunSnapshots.Pending());
        hub.Publish(RunSnapshots.Running(3));

        await using var feed = hub.Subscribe(CancellationToken.None).GetAsyncEnumerator();

        Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout));
        Assert.Equal((3L, 1L), (feed.Current.Step, feed.Current.Sequence));
    }

    [Fact]
    public async Task Should_skip_to_the_newest_and_end_after_the_final_snapshot_when_the_reader_is_slow()
    {
        var hub = new RunProgressHub(RunSnapshots.Pending());
        await using var feed = hub.Subscribe(CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout));

        for (var step = 1; step <= 50; step++)
        {
            hub.Publish(RunSnapshots.Running(step));
        }
        hub.Publish(RunSnapshots.Finished());

        Assert.True(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout));
        Assert.Equal((RunState.Succeeded, 51L), (feed.Current.State, feed.Current.Sequence));
        Assert.False(await feed.MoveNextAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Should_yield_only_the_final_snapshot_when_subscribing_after_the_run_ended()
    {
        var hub = new RunProgressHub(RunSnapshots.Pending());
        hub.Publish(RunSnapshots.Finished(RunState.Failed));

        var seen = new List<RunSnapshot>();
        await foreach (var snapshot in hub.Subscribe(CancellationToken.None).WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            seen.Add(snapshot);
        }

        Assert.Equal(RunState.Failed, Assert.Single(seen).State);
    }

    [Fact]
    public async Task Should_stop_the_feed_when_the_subscriber_cancels()
    {
        var hub = new RunProgressHub(RunSnapshots.Pending());
        using var cancel = new CancellationTokenSource();
        await using var feed = hub.Subscribe(cancel.Token).GetAsyncEnumerator();
        Assert.True(await feed.MoveNextAsync());

        var next = feed.MoveNextAsync().AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Timeout));
    }

    [Fact]
    public void Should_halve_training_points_and_keep_every_evaluation_recovery_and_the_newest_when_history_overflows()
    {
        var hub = new RunProgressHub(RunSnapshots.Pending(), maxHistoryPoints: 10);
        hub.Record(new HistoryPoint { Stage = "clip", Step = 0, Eval = new Dictionary<string, double> { ["zero_shot_top1"] = 0.1 } });
        for (var step = 1; step <= 10; step++)
        {
            hub.Record(new HistoryPoint { Stage = "clip", Step = step, Recovery = step == 4 ? Recovery() : null });
        }

        var history = hub.History;

        Assert.Equal([0L, 1, 3, 4, 6, 8, 10], history.Select(p => p.Step));
        Assert.True(history[0].IsEvaluation);
    }

    [Fact]
    public void Should_return_the_points_recorded_from_a_position_on_when_thinning_dropped_some()
    {
        var hub = new RunProgressHub(RunSnapshots.Pending(), maxHistoryPoints: 10);
        for (var step = 1; step <= 11; step++)
        {
            hub.Record(new HistoryPoint { Stage = "clip", Step = step });
        }

        var since = hub.HistorySince(6);
        var none = hub.HistorySince(11);

        // Positions are 0-based in recording order: position 6 is step 7; thinning kept 7, 9 and the newest, 11.
        Assert.Equal([7L, 9, 11], since.Points.Select(p => p.Step));
        Assert.Equal(11, since.Cursor);
        Assert.Empty(none.Points);
        Assert.Equal(hub.History.Count, hub.HistorySince(0).Points.Count);
    }

    private static RecoverySummary Recovery() => new()
    {
        Stage = "clip",
        Step = 3,
        Cause = "worker w1 left",
    };
}
