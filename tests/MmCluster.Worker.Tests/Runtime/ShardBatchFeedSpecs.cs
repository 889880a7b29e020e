using MmCluster.Shared.Manifest;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

public sealed class ShardBatchFeedSpecs
{
    private readonly LeaseTracker tracker = new();

    [Fact]
    public async Task Should_deliver_exactly_the_wanted_batches_in_lease_order_when_batches_span_shards_and_epochs()
    {
        using var manifest = await FeedFixtures.WriteManifestAsync(rows: 10, rowsPerGroup: 4);
        var control = new ScriptedControlPlane(manifest.Shards);

        var batches = await ReadAsync(manifest, control, batchSize: 3, wanted: 5);

        Assert.All(batches, b => Assert.Equal(3, b.Count));
        Assert.Equal([.. Enumerable.Range(0, 10).Concat(Enumerable.Range(0, 5)).Select(FeedFixtures.Key)], batches.SelectMany(b => b.Keys));
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4], batches.SelectMany(b => b.Labels));
        // Shards of 4, 4, 2 rows in epoch 0, then 4 in epoch 1; the run ends inside the next shard, which is never done.
        Assert.Equal([(0, 4L), (0, 4L), (0, 2L), (1, 4L)], tracker.Consume(15).Done.Select(d => (d.Lease.Epoch, d.Rows)));
    }

    [Fact]
    public async Task Should_read_ahead_into_the_next_epoch_when_the_rest_of_the_epoch_is_leased_to_others()
    {
        using var manifest = await FeedFixtures.WriteManifestAsync(rows: 8, rowsPerGroup: 4);
        var control = new ScriptedControlPlane(manifest.Shards) { LeasedToOthers = [0] };

        var batches = await ReadAsync(manifest, control, batchSize: 4, wanted: 2);

        Assert.Equal([.. Enumerable.Range(0, 8).Select(FeedFixtures.Key)], batches.SelectMany(b => b.Keys));
        Assert.Equal([0, 1, 1], control.Requests.Take(3));
        Assert.Equal([(1, 4L), (1, 4L)], tracker.Consume(8).Done.Select(d => (d.Lease.Epoch, d.Rows)));
    }

    [Fact]
    public async Task Should_fail_naming_the_epochs_when_the_train_split_gives_no_rows()
    {
        using var manifest = await FeedFixtures.WriteManifestAsync(rows: 4, rowsPerGroup: 4);
        var control = new ScriptedControlPlane([]);

        // The message is what the worker reports (WorkerFailed); Next throws the feed's ChannelClosedException wrapper.
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ReadAsync(manifest, control, batchSize: 2, wanted: 1));

        Assert.Equal("the manifest gave no rows for epochs 0..2: is the train split empty?", error.Message);
    }

    private async Task<List<ClipBatch>> ReadAsync(TestManifest manifest, ScriptedControlPlane control, int batchSize, int wanted)
    {
        await using var reader = new ParquetManifestReader(manifest.Folder, "train");
        var batches = new List<ClipBatch>();
        await using (var feed = new ShardBatchFeed(control, reader, FeedFixtures.Builder(), tracker, batchSize, wanted, startEpoch: 0))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            for (var i = 0; i < wanted; i++)
            {
                batches.Add(await Task.Run(() => feed.Next(timeout.Token)));
            }
        }
        return batches;
    }
}
