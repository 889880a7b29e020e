using Google.Protobuf;
using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using Xunit;

namespace MmCluster.Coordinator.Tests.Ledger;

public sealed class ShardLedgerSpecs
{
    [Fact]
    public void Should_count_samples_as_committed_only_when_a_commit_covers_their_step()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(3, rows: 10));
        var first = Lease(ledger, "w0");
        var second = Lease(ledger, "w0");
        ledger.Complete(0, first, 10, step: 4);
        ledger.Complete(0, second, 7, step: 9);

        var before = ledger.Stats().Epochs[0];
        Assert.Equal((0L, 17L, 30L), (before.SamplesCommitted, before.SamplesUncommitted, before.Missing));

        var snapshot = ledger.Commit(step: 5);
        var after = ledger.Stats().Epochs[0];
        Assert.Equal((10L, 7L, 20L), (after.SamplesCommitted, after.SamplesUncommitted, after.Missing));
        Assert.Equal([first], snapshot.Epochs[0].Committed.Select(c => c.ShardId));
    }

    [Fact]
    public void Should_count_duplicate_samples_when_a_shard_is_completed_twice()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(2));
        var shard = Lease(ledger, "w0");

        Assert.Equal(CompletionResult.Accepted, ledger.Complete(0, shard, 10, 1));
        Assert.Equal(CompletionResult.Duplicate, ledger.Complete(0, shard, 10, 2));

        Assert.Equal(10, ledger.Stats().Epochs[0].Duplicates);
    }

    [Fact]
    public void Should_restore_committed_shards_and_hand_out_the_rest_when_resuming_from_a_snapshot()
    {
        var original = new ShardLedger(TestPlans.Uniform(4));
        var done = Lease(original, "w0");
        var leasedOnly = Lease(original, "w1");
        original.Complete(0, done, 10, 1);
        var snapshot = LedgerSnapshot.Parser.ParseFrom(original.Commit(1).ToByteArray());

        var resumed = new ShardLedger(TestPlans.Uniform(4), snapshot);
        var handedOut = Enumerable.Range(0, 3).Select(_ => Lease(resumed, "w0")).ToList();

        Assert.DoesNotContain(done, handedOut);
        Assert.Contains(leasedOnly, handedOut);
        Assert.IsType<LeaseResult.NoneAvailable>(resumed.Lease(0, "w0"));
        Assert.Equal(10, resumed.Stats().Epochs[0].SamplesCommitted);
    }

    [Fact]
    public void Should_refuse_the_snapshot_when_the_manifest_plans_a_different_epoch()
    {
        var original = new ShardLedger(TestPlans.Uniform(4));
        Lease(original, "w0");
        var snapshot = original.Commit(1);

        var resumed = new ShardLedger(TestPlans.Uniform(5), snapshot);

        var error = Assert.Throws<InvalidOperationException>(() => resumed.Lease(0, "w0"));
        Assert.Contains("manifest changed", error.Message);
    }

    [Fact]
    public void Should_reject_a_completion_when_it_consumed_more_rows_than_the_shard_has()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(1, rows: 10));
        var shard = Lease(ledger, "w0");

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ledger.Complete(0, shard, 11, 1));
        Assert.Contains("part-0.parquet", error.Message);
    }

    [Fact]
    public void Should_stop_naming_the_files_when_an_epoch_ends_without_a_single_usable_row()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(2, rows: 10));
        ledger.Complete(0, Lease(ledger, "w0"), 0, 1);
        ledger.Complete(0, Lease(ledger, "w1"), 0, 1);

        // Not "epoch complete" (which would send the worker on to an epoch just as empty), but an error.
        var error = Assert.Throws<InvalidOperationException>(() => ledger.Lease(0, "w0"));
        Assert.Contains("epoch 0 ended without a single usable row", error.Message);
        Assert.Contains("part-0.parquet, part-1.parquet", error.Message);
    }

    [Fact]
    public void Should_report_the_epoch_complete_when_some_of_its_rows_were_trained()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(2, rows: 10));
        ledger.Complete(0, Lease(ledger, "w0"), 0, 1);
        ledger.Complete(0, Lease(ledger, "w1"), 3, 1);

        Assert.IsType<LeaseResult.EpochComplete>(ledger.Lease(0, "w0"));
    }

    private static int Lease(ShardLedger ledger, string worker) =>
        Assert.IsType<LeaseResult.Leased>(ledger.Lease(0, worker)).Shard.ShardId;
}
