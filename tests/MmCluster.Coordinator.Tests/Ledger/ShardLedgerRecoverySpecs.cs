using Google.Protobuf;
using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using Xunit;

namespace MmCluster.Coordinator.Tests.Ledger;

/// <summary>A recovery keeps the steps up to its step and hands out exactly the rows no kept step trained.</summary>
public sealed class ShardLedgerRecoverySpecs
{
    // Uniform(4, rows: 10): shard i is rows [(i/3)*10, (i/3)*10 + 10) of part-(i%3).parquet.
    private static LeaseCursor Cursor(int shard, long nextRow, long trained, long skipped = 0)
    {
        var cursor = new LeaseCursor { Epoch = 0, ShardId = shard, NextRow = nextRow, Trained = trained };
        if (skipped > 0)
        {
            cursor.SkippedByReason["EmptyCaption"] = skipped;
        }
        return cursor;
    }

    private static ShardLeasedView Lease(ShardLedger ledger, string worker)
    {
        var leased = Assert.IsType<LeaseResult.Leased>(ledger.Lease(0, worker));
        return new ShardLeasedView(leased.Shard.ShardId, leased.Shard.FirstRow, leased.Shard.SkipRows);
    }

    private sealed record ShardLeasedView(int ShardId, long FirstRow, long SkipRows);

    [Fact]
    public void Should_continue_a_shard_from_the_row_after_the_kept_steps_when_its_holder_died_mid_shard()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(1, rows: 10));
        var shard = Lease(ledger, "w1");
        ledger.Advance("w1", 1, [Cursor(shard.ShardId, 4, 3, skipped: 1)]);
        ledger.Advance("w1", 2, [Cursor(shard.ShardId, 8, 7, skipped: 1)]);

        var recovery = ledger.Recover(step: 1);   // step 2 was in flight and is discarded

        var again = Lease(ledger, "w2");
        Assert.Equal((shard.ShardId, 4L), (again.ShardId, again.SkipRows));
        var epoch = ledger.Stats().Epochs[0];
        Assert.Equal((3L, 1L), (epoch.SamplesCommitted, epoch.SkippedCommitted));
        var partial = Assert.Single(recovery.Snapshot.Epochs[0].Committed);
        Assert.Equal((4L, 3L), (partial.NextRow, partial.RowsConsumed));

        // The continuation trains the other 6 rows: the shard is done with 9 trained and 1 skipped, nothing twice.
        ledger.Complete(0, shard.ShardId, 6, step: 5);
        ledger.Commit(5);
        epoch = ledger.Stats().Epochs[0];
        Assert.Equal((9L, 1L, 0L, 0L), (epoch.SamplesCommitted, epoch.SkippedCommitted, epoch.Duplicates, epoch.Missing));
    }

    [Fact]
    public void Should_rewind_a_completion_made_by_a_discarded_step()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(1, rows: 10));
        var shard = Lease(ledger, "w0");
        ledger.Advance("w0", 3, [Cursor(shard.ShardId, 6, 6)]);
        ledger.Advance("w0", 4, [Cursor(shard.ShardId, 10, 10)]);
        ledger.Complete(0, shard.ShardId, 10, step: 4);

        var recovery = ledger.Recover(step: 3);

        Assert.Equal(4, recovery.RowsRewound);
        Assert.Equal(6, Lease(ledger, "w0").SkipRows);
        Assert.Equal(6, ledger.Stats().Epochs[0].SamplesCommitted);
    }

    [Fact]
    public void Should_mark_a_shard_done_when_the_kept_steps_read_it_to_its_end()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(2, rows: 10));
        var first = Lease(ledger, "w0");
        ledger.Advance("w0", 7, [Cursor(first.ShardId, 10, 10)]);   // step 7 trained the last rows; its holder died before reporting

        var recovery = ledger.Recover(step: 7);

        Assert.Equal(0, recovery.FirstOpenEpoch);
        var epoch = ledger.Stats().Epochs[0];
        Assert.Equal((1, 10L), (epoch.Committed, epoch.SamplesCommitted));
        Assert.NotEqual(first.ShardId, Lease(ledger, "w1").ShardId);
    }

    [Fact]
    public void Should_hand_back_a_lease_untouched_by_any_kept_step_whole()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(2, rows: 10));
        var first = Lease(ledger, "w0");
        ledger.Advance("w0", 5, [Cursor(first.ShardId, 3, 3)]);

        ledger.Recover(step: 4);

        var again = Lease(ledger, "w1");
        Assert.Equal((first.ShardId, 0L), (again.ShardId, again.SkipRows));
        Assert.Equal(0, ledger.Stats().Epochs[0].SamplesCommitted);
    }

    [Fact]
    public void Should_ignore_cursors_for_a_shard_the_worker_does_not_hold()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(2, rows: 10));
        var shard = Lease(ledger, "w0");

        Assert.Equal(1, ledger.Advance("w1", 1, [Cursor(shard.ShardId, 5, 5)]));
    }

    [Fact]
    public void Should_resume_a_partly_trained_shard_from_its_next_row_when_restored_from_a_recovery_commit()
    {
        var original = new ShardLedger(TestPlans.Uniform(3, rows: 10));
        var shard = Lease(original, "w0");
        original.Advance("w0", 2, [Cursor(shard.ShardId, 5, 5)]);
        var snapshot = LedgerSnapshot.Parser.ParseFrom(original.Recover(2).Snapshot.ToByteArray());

        var resumed = new ShardLedger(TestPlans.Uniform(3, rows: 10), snapshot);
        var first = Lease(resumed, "w0");

        Assert.Equal((shard.ShardId, 5L), (first.ShardId, first.SkipRows));
        Assert.Equal(5, resumed.Stats().Epochs[0].SamplesCommitted);
    }

    [Fact]
    public void Should_refuse_a_completion_larger_than_the_rows_left_after_the_prefix()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(1, rows: 10));
        var shard = Lease(ledger, "w0");
        ledger.Advance("w0", 1, [Cursor(shard.ShardId, 4, 4)]);
        ledger.Recover(1);
        Lease(ledger, "w0");

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ledger.Complete(0, shard.ShardId, 7, 3));
        Assert.Contains("6 rows left after row 4", error.Message);
    }

    [Fact]
    public void Should_commit_the_trained_rows_of_a_shard_being_read_and_count_them_once_when_it_completes()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(1, rows: 10));
        var shard = Lease(ledger, "w0");
        ledger.Advance("w0", 3, [Cursor(shard.ShardId, 6, 5, skipped: 1)]);

        var snapshot = ledger.Commit(3);

        var partial = Assert.Single(snapshot.Epochs[0].Committed);
        Assert.Equal((6L, 5L), (partial.NextRow, partial.RowsConsumed));
        Assert.Equal(5, ledger.Stats().Epochs[0].SamplesCommitted);
        ledger.Complete(0, shard.ShardId, 9, step: 5, new Dictionary<string, long> { ["EmptyCaption"] = 1 });
        ledger.Commit(5);
        var epoch = ledger.Stats().Epochs[0];
        Assert.Equal((9L, 1L, 0L, 0L), (epoch.SamplesCommitted, epoch.SkippedCommitted, epoch.Duplicates, epoch.Missing));
    }

    [Fact]
    public void Should_continue_a_shard_from_the_checkpoints_kept_rows_when_resuming_from_that_checkpoint()
    {
        var original = new ShardLedger(TestPlans.Uniform(2, rows: 10));
        var shard = Lease(original, "w0");
        original.Advance("w0", 4, [Cursor(shard.ShardId, 7, 7)]);
        original.Advance("w0", 5, [Cursor(shard.ShardId, 9, 9)]);   // after the checkpoint: trained again after a resume
        var snapshot = LedgerSnapshot.Parser.ParseFrom(original.Commit(4).ToByteArray());

        var resumed = new ShardLedger(TestPlans.Uniform(2, rows: 10), snapshot);
        var first = Lease(resumed, "w1");

        Assert.Equal((shard.ShardId, 7L), (first.ShardId, first.SkipRows));
        resumed.Complete(0, shard.ShardId, 3, step: 6);
        resumed.Commit(6);
        Assert.Equal(10, resumed.Stats().Epochs[0].SamplesCommitted);
    }

    [Fact]
    public void Should_keep_a_folded_prefix_consistent_when_a_later_recovery_rewinds_the_lease()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(1, rows: 10));
        var shard = Lease(ledger, "w0");
        ledger.Advance("w0", 2, [Cursor(shard.ShardId, 4, 4)]);
        ledger.Commit(2);
        ledger.Advance("w0", 3, [Cursor(shard.ShardId, 6, 6)]);
        ledger.Advance("w0", 4, [Cursor(shard.ShardId, 8, 8)]);

        ledger.Recover(3);

        Assert.Equal(6, Lease(ledger, "w1").SkipRows);
        Assert.Equal(6, ledger.Stats().Epochs[0].SamplesCommitted);
        ledger.Complete(0, shard.ShardId, 4, step: 6);
        ledger.Commit(6);
        Assert.Equal((10L, 0L), (ledger.Stats().Epochs[0].SamplesCommitted, ledger.Stats().Epochs[0].Duplicates));
    }
}
