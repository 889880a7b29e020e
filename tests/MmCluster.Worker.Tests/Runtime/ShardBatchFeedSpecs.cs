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

    [Fact]
    public async Task Should_give_the_same_photo_batches_when_three_threads_decode_them_as_when_one_does()
    {
        using var manifest = await FeedFixtures.WritePhotoManifestAsync(rows: 14, rowsPerGroup: 5);

        // 14 rows, batches of 4: the fourth batch spans epochs 0 and 1, so rows repeat with other crops.
        var one = await ReadAsync(manifest, new ScriptedControlPlane(manifest.Shards), batchSize: 4, wanted: 5, FeedFixtures.PhotoBuilder());
        var three = await ReadAsync(manifest, new ScriptedControlPlane(manifest.Shards), batchSize: 4, wanted: 5, FeedFixtures.PhotoBuilder(), decodeThreads: 3);

        Assert.Equal(one.Select(b => b.Keys), three.Select(b => b.Keys));
        Assert.Equal(one.Select(b => b.Tokens), three.Select(b => b.Tokens));
        for (var b = 0; b < one.Count; b++)
        {
            Assert.Equal(new long[] { 4, 3, 32, 32 }, three[b].PixelShape);
            Assert.True(one[b].Pixels.AsSpan().SequenceEqual(three[b].Pixels), $"batch {b}'s pixels differ between 1 and 3 decode threads");
        }
        var perImage = 3 * 32 * 32;
        // row-0000 in epoch 0 (batch 0, slot 0) and epoch 1 (batch 3, slot 2): another training crop
        Assert.Equal("row-0000", three[3].Keys[2]);
        Assert.False(three[0].Pixels.AsSpan(0, perImage).SequenceEqual(three[3].Pixels.AsSpan(2 * perImage, perImage)));
    }

    [Fact]
    public async Task Should_skip_and_count_a_photo_that_does_not_decode_when_three_threads_decode_the_batches()
    {
        using var manifest = await FeedFixtures.WritePhotoManifestAsync(rows: 9, rowsPerGroup: 9, truncated: 4);
        var control = new ScriptedControlPlane(manifest.Shards);

        var batches = await ReadAsync(manifest, control, batchSize: 4, wanted: 2, FeedFixtures.PhotoBuilder(), decodeThreads: 3);

        Assert.Equal([.. Enumerable.Range(0, 9).Where(i => i != 4).Select(FeedFixtures.Key)], batches.SelectMany(b => b.Keys));
        var done = Assert.Single(tracker.Consume(8).Done);
        Assert.Equal(8, done.Rows);
        Assert.Equal(1, done.Skipped[nameof(RowSkipReason.ImageUndecodable)]);
    }

    private async Task<List<ClipBatch>> ReadAsync(TestManifest manifest, ScriptedControlPlane control, int batchSize, int wanted,
        BatchBuilder? builder = null, int decodeThreads = 1)
    {
        await using var reader = new ParquetManifestReader(manifest.Folder, "train");
        var batches = new List<ClipBatch>();
        await using (var feed = new ShardBatchFeed(control, reader, builder ?? FeedFixtures.Builder(), tracker, batchSize, wanted, startEpoch: 0,
            decodeThreads: decodeThreads))
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
