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
    public void Should_count_the_epochs_before_the_checkpoint_when_a_resumed_worker_first_asks_for_a_later_epoch()
    {
        var original = new ShardLedger(TestPlans.Uniform(2));
        foreach (var _ in Enumerable.Range(0, 2))
        {
            original.Complete(0, Lease(original, "w0"), 10, 1);
        }
        var halfDone = Lease(original, "w0", epoch: 1);
        original.Complete(1, halfDone, 10, 2);
        var snapshot = LedgerSnapshot.Parser.ParseFrom(original.Commit(2).ToByteArray());

        var resumed = new ShardLedger(TestPlans.Uniform(2), snapshot);
        Assert.IsType<LeaseResult.Leased>(resumed.Lease(2, "w0"));   // a worker whose checkpoint said epoch 2

        Assert.Equal([0, 1, 2], resumed.Stats().Epochs.Select(e => e.Epoch));
        Assert.Equal((20L, 10L), (resumed.Stats().Epochs[0].SamplesCommitted, resumed.Stats().Epochs[1].SamplesCommitted));
        Assert.Equal(1, resumed.FirstOpenEpoch());
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

    [Fact]
    public void Should_count_skipped_rows_by_reason_and_file_and_leave_only_unreached_rows_missing_when_rows_were_skipped()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(4, rows: 10));
        var first = Lease(ledger, "w0");    // part-0.parquet
        var second = Lease(ledger, "w1");   // part-1.parquet
        var fourth = new[] { Lease(ledger, "w0"), Lease(ledger, "w0") }.Single(id => id == 3);   // part-0.parquet again
        ledger.Complete(0, first, 7, 1, new Dictionary<string, long> { ["EmptyCaption"] = 2, ["ImageUndecodable"] = 1 });
        ledger.Complete(0, second, 10, 1);
        ledger.Complete(0, fourth, 9, 2, new Dictionary<string, long> { ["PathOutsideManifest"] = 1, ["EmptyCaption"] = 0 });
        ledger.Commit(2);

        var epoch = ledger.Stats().Epochs[0];

        // 40 planned = 26 trained + 4 skipped + 10 never reached (shard 2, leased but never done).
        Assert.Equal((26L, 4L, 10L, true), (epoch.SamplesCommitted, epoch.SkippedCommitted, epoch.Missing, epoch.Ran));
        Assert.Equal(new Dictionary<string, long> { ["EmptyCaption"] = 2, ["ImageUndecodable"] = 1, ["PathOutsideManifest"] = 1 }, epoch.SkippedByReason);
        var file = Assert.Single(epoch.SkippedByFile);
        Assert.Equal(("part-0.parquet", 20L, 16L), (file.File, file.SamplesExpected, file.SamplesCommitted));
        Assert.Equal(new Dictionary<string, long> { ["EmptyCaption"] = 2, ["ImageUndecodable"] = 1, ["PathOutsideManifest"] = 1 }, file.SkippedByReason);
    }

    [Fact]
    public void Should_count_skipped_rows_of_uncommitted_shards_as_missing_until_a_commit_covers_them()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(1, rows: 10));
        ledger.Complete(0, Lease(ledger, "w0"), 8, 5, new Dictionary<string, long> { ["ImageTooLarge"] = 2 });

        var before = ledger.Stats().Epochs[0];
        ledger.Commit(5);
        var after = ledger.Stats().Epochs[0];

        Assert.Equal((0L, 2L, 10L), (before.SkippedCommitted, before.SkippedUncommitted, before.Missing));
        Assert.Equal((2L, 0L, 0L), (after.SkippedCommitted, after.SkippedUncommitted, after.Missing));
    }

    [Fact]
    public void Should_reject_a_completion_when_its_trained_and_skipped_rows_exceed_the_shard()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(1, rows: 10));
        var shard = Lease(ledger, "w0");

        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ledger.Complete(0, shard, 9, 1, new Dictionary<string, long> { ["EmptyCaption"] = 2 }));
        Assert.Contains("2 skipped (2 EmptyCaption)", error.Message);
    }

    [Fact]
    public void Should_report_an_epoch_as_not_run_with_nothing_missing_when_it_was_only_read_ahead_into()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(2, rows: 10));
        ledger.Complete(0, Lease(ledger, "w0"), 10, 1);
        ledger.Complete(0, Lease(ledger, "w1"), 10, 2);
        // A worker read ahead into epoch 1 and the run ended inside its shard: leased, never done.
        Assert.IsType<LeaseResult.Leased>(ledger.Lease(1, "w0"));
        ledger.Commit(2);

        var epochs = ledger.Stats().Epochs;

        Assert.Equal((true, 0L), (epochs[0].Ran, epochs[0].Missing));
        Assert.Equal((false, 0L, 20L), (epochs[1].Ran, epochs[1].Missing, epochs[1].SamplesExpected));
    }

    [Fact]
    public void Should_keep_the_skipped_counts_when_resuming_from_a_snapshot()
    {
        var original = new ShardLedger(TestPlans.Uniform(2, rows: 10));
        original.Complete(0, Lease(original, "w0"), 7, 1, new Dictionary<string, long> { ["EmptyCaption"] = 3 });
        var snapshot = LedgerSnapshot.Parser.ParseFrom(original.Commit(1).ToByteArray());

        var resumed = new ShardLedger(TestPlans.Uniform(2, rows: 10), snapshot);
        resumed.Complete(0, Lease(resumed, "w0"), 10, 2);
        resumed.Commit(2);
        var epoch = resumed.Stats().Epochs[0];

        Assert.Equal((17L, 3L, 0L), (epoch.SamplesCommitted, epoch.SkippedCommitted, epoch.Missing));
        Assert.Equal(new Dictionary<string, long> { ["EmptyCaption"] = 3 }, epoch.SkippedByReason);
    }

    private static int Lease(ShardLedger ledger, string worker, int epoch = 0) =>
        Assert.IsType<LeaseResult.Leased>(ledger.Lease(epoch, worker)).Shard.ShardId;
}
