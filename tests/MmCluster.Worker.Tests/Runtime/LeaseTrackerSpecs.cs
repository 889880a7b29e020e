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

        Assert.Empty(tracker.Consume(4));
        Assert.Equal([(a, 5L)], tracker.Consume(4).Select(d => (d.Lease, d.Rows)));
        Assert.Equal([(b, 5L)], tracker.Consume(2).Select(d => (d.Lease, d.Rows)));
    }

    [Fact]
    public void Should_report_every_lease_in_read_order_when_one_step_consumes_several()
    {
        var a = Read(Lease(0), rows: 2);
        var b = Read(Lease(1), rows: 2);
        Read(Lease(2), rows: 2);

        Assert.Equal([(a, 2L), (b, 2L)], tracker.Consume(5).Select(d => (d.Lease, d.Rows)));
    }

    [Fact]
    public void Should_keep_a_lease_open_when_its_reading_is_not_finished()
    {
        var lease = Lease(0);
        var entry = tracker.Begin(lease);
        tracker.Produced(entry, 3);

        Assert.Empty(tracker.Consume(3));
        tracker.Finished(entry);
        Assert.Equal([(lease, 3L)], tracker.Consume(0).Select(d => (d.Lease, d.Rows)));
    }

    [Fact]
    public void Should_throw_when_a_step_trains_more_rows_than_were_read()
    {
        Read(Lease(0), rows: 2);

        var error = Assert.Throws<InvalidOperationException>(() => tracker.Consume(3));
        Assert.Equal("a step trained 3 rows but only 2 were read from leases", error.Message);
    }

    private static ShardLease Lease(int shard) => new(0, new ShardSpec(shard, "part.parquet", shard, 1, shard * 100L, 100));

    private ShardLease Read(ShardLease lease, int rows)
    {
        var entry = tracker.Begin(lease);
        for (var i = 0; i < rows; i++)
        {
            tracker.Produced(entry);
        }
        tracker.Finished(entry);
        return lease;
    }
}
