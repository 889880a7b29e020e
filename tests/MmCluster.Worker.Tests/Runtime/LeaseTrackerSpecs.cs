using MmCluster.Shared.Manifest;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Runtime;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

public sealed class LeaseTrackerSpecs
{
    private readonly LeaseTracker tracker = new();

    [Fact]
    public void Should_report_a_lease_done_only_after_the_step_that_consumed_its_last_row()
    {
        var a = Read(Lease(0), rows: 5);
        var b = Read(Lease(1), rows: 5);

        Assert.Empty(tracker.Consume(4).Done);
        Assert.Equal([(a, 5L)], tracker.Consume(4).Done.Select(d => (d.Lease, d.Rows)));
        Assert.Equal([(b, 5L)], tracker.Consume(2).Done.Select(d => (d.Lease, d.Rows)));
    }

    [Fact]
    public void Should_report_every_lease_in_read_order_when_one_step_consumes_several()
    {
        var a = Read(Lease(0), rows: 2);
        var b = Read(Lease(1), rows: 2);
        Read(Lease(2), rows: 2);

        Assert.Equal([(a, 2L), (b, 2L)], tracker.Consume(5).Done.Select(d => (d.Lease, d.Rows)));
    }

    [Fact]
    public void Should_keep_a_lease_open_when_its_reading_is_not_finished()
    {
        var lease = Lease(0);
        var entry = tracker.Begin(lease);
        for (var row = 0L; row < 3; row++)
        {
            tracker.Produced(entry, row);
        }

        Assert.Empty(tracker.Consume(3).Done);
        tracker.Finished(entry);
        Assert.Equal([(lease, 3L)], tracker.Consume(0).Done.Select(d => (d.Lease, d.Rows)));
    }

    [Fact]
    public void Should_place_a_pieces_cursors_inside_its_rows_and_its_end_at_the_pieces_end()
    {
        // Rows [30, 60) of shard 0 (rows [0, 100)): the ledger split it between ranks.
        var piece = new ShardLease(0, new ShardSpec(0, "part.parquet", 0, 1, 0, 100) { SkipRows = 30, EndRow = 60 });
        var entry = tracker.Begin(piece);
        for (var row = 30L; row < 60; row++)
        {
            tracker.Produced(entry, row);
        }
        tracker.Finished(entry);

        var first = tracker.Consume(20);
        var last = tracker.Consume(10);

        Assert.Equal((50L, 20L), (first.Cursors.Single().NextRow, first.Cursors.Single().Trained));
        Assert.Equal((60L, 30L), (last.Cursors.Single().NextRow, last.Cursors.Single().Trained));
        Assert.Equal([(piece, 30L)], last.Done.Select(d => (d.Lease, d.Rows)));
    }

    [Fact]
    public void Should_throw_when_a_step_trains_more_rows_than_were_read()
    {
        Read(Lease(0), rows: 2);

        var error = Assert.Throws<InvalidOperationException>(() => tracker.Consume(3));
        Assert.Equal("a step trained 3 rows but only 2 were read from leases", error.Message);
    }

    [Fact]
    public void Should_report_where_each_lease_stands_after_a_step_with_the_skipped_rows_before_it()
    {
        var lease = Lease(2);   // rows 200..299 of its file
        var entry = tracker.Begin(lease);
        tracker.Produced(entry, 200);
        tracker.Skipped(entry, new RowSkip("part.parquet", 2, 201, "k", RowSkipReason.EmptyCaption, "empty"));
        tracker.Produced(entry, 202);
        tracker.Produced(entry, 203);

        var first = Assert.Single(tracker.Consume(2).Cursors);
        Assert.Equal((2, 203L, 2L, 1L), (first.ShardId, first.NextRow, first.Trained, first.SkippedByReason["EmptyCaption"]));
        tracker.Finished(entry, new Dictionary<string, long> { ["EmptyCaption"] = 1 });
        var last = tracker.Consume(1);
        Assert.Equal((300L, 3L), (Assert.Single(last.Cursors).NextRow, last.Cursors[0].Trained));   // finished: the whole shard handled
        Assert.Single(last.Done);
    }

    [Fact]
    public void Should_count_the_rows_of_another_split_before_a_cursor_when_a_step_ends_inside_the_lease()
    {
        // A held-out row (test_fraction) inside a lease that a checkpoint cuts: a continued lease starts after the cursor,
        // so the cursor must carry it, or the ledger reports it missing after a recovery or resume.
        var lease = Lease(2);
        var entry = tracker.Begin(lease);
        tracker.Produced(entry, 200);
        tracker.Skipped(entry, 201, ShardBatchFeed.OtherSplitReason);
        tracker.Produced(entry, 202);
        tracker.Skipped(entry, 205, ShardBatchFeed.OtherSplitReason);
        tracker.Produced(entry, 206);

        var cursor = Assert.Single(tracker.Consume(2).Cursors);

        Assert.Equal((203L, 2L), (cursor.NextRow, cursor.Trained));
        Assert.Equal(1, cursor.SkippedByReason[ShardBatchFeed.OtherSplitReason]);   // row 201, not row 205 after the cursor
    }

    [Fact]
    public void Should_start_a_continued_lease_at_its_skipped_rows_when_nothing_is_consumed_yet()
    {
        var lease = new ShardLease(0, new ShardSpec(1, "part.parquet", 1, 1, 100, 100) { SkipRows = 40 });
        var entry = tracker.Begin(lease);
        tracker.Produced(entry, 140);

        Assert.Equal(141, Assert.Single(tracker.Consume(1).Cursors).NextRow);
    }

    private static ShardLease Lease(int shard) => new(0, new ShardSpec(shard, "part.parquet", shard, 1, shard * 100L, 100));

    private ShardLease Read(ShardLease lease, int rows)
    {
        var entry = tracker.Begin(lease);
        for (var i = 0; i < rows; i++)
        {
            tracker.Produced(entry, lease.Shard.FirstRow + i);
        }
        tracker.Finished(entry);
        return lease;
    }
}
