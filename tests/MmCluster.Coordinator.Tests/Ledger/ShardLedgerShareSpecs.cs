using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;
using Xunit;

namespace MmCluster.Coordinator.Tests.Ledger;

/// <summary>
/// In a generation every worker gets its share of each epoch's remaining rows and no more, splitting the shard that would
/// take it past its share, so that no rank runs dry (and reads ahead into the next epoch) while another still holds rows
/// of the epoch: a greedy rank would otherwise leave the epoch's last rows unread when the run ends.
/// </summary>
public sealed class ShardLedgerShareSpecs
{
    private static ShardSpec Leased(ShardLedger ledger, int epoch, string worker) =>
        Assert.IsType<LeaseResult.Leased>(ledger.Lease(epoch, worker)).Shard;

    private static Dictionary<string, int> Even(params string[] workers) => workers.ToDictionary(w => w, _ => 8);

    [Fact]
    public void Should_stop_a_greedy_worker_at_its_share_of_the_epoch()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(4, rows: 16));
        ledger.BeginGeneration(Even("w0", "w1"));

        Leased(ledger, 0, "w0");
        Leased(ledger, 0, "w0");

        // w0 holds its 32 of the epoch's 64 rows: the other two shards are w1's, however fast w0 reads.
        Assert.IsType<LeaseResult.NoneAvailable>(ledger.Lease(0, "w0"));
        Assert.Equal(16, Leased(ledger, 0, "w1").ReadRows);
        Assert.Equal(16, Leased(ledger, 0, "w1").ReadRows);
        Assert.IsType<LeaseResult.NoneAvailable>(ledger.Lease(0, "w1"));
    }

    [Fact]
    public void Should_split_the_shard_that_would_take_a_worker_past_its_share()
    {
        // 3 shards of 10 rows, 2 workers: 15 rows each, so shard 1 is cut at its 6th row.
        var ledger = new ShardLedger(TestPlans.Uniform(3, rows: 10));
        ledger.BeginGeneration(Even("w0", "w1"));

        var first = Leased(ledger, 0, "w0");
        var head = Leased(ledger, 0, "w0");
        var tail = Leased(ledger, 0, "w1");
        var last = Leased(ledger, 0, "w1");

        Assert.Equal((10L, 5L), (first.ReadRows, head.ReadRows));
        Assert.Equal((head.File, head.FirstRow, head.ReadEnd), (tail.File, tail.FirstRow, tail.ReadStart));
        Assert.Equal((5L, 10L), (tail.ReadRows, last.ReadRows));
        Assert.NotEqual(head.ShardId, tail.ShardId);
        foreach (var (shard, worker) in new[] { (first, "w0"), (head, "w0"), (tail, "w1"), (last, "w1") })
        {
            Assert.Equal(CompletionResult.Accepted, ledger.Complete(0, shard.ShardId, shard.ReadRows, step: 2));
        }
        ledger.Commit(2);
        var epoch = ledger.Stats().Epochs[0];
        Assert.True(epoch.IsComplete);
        Assert.Equal((30L, 0L, 0L), (epoch.SamplesCommitted, epoch.Duplicates, epoch.Missing));
        Assert.IsType<LeaseResult.EpochComplete>(ledger.Lease(0, "w0"));
    }

    [Fact]
    public void Should_share_in_proportion_to_each_workers_rows_per_step()
    {
        // A global batch of 16 over 3 ranks is 6 + 5 + 5 rows: of 48 rows, 18 + 15 + 15.
        var ledger = new ShardLedger(TestPlans.Uniform(3, rows: 16));
        ledger.BeginGeneration(new Dictionary<string, int> { ["w0"] = 6, ["w1"] = 5, ["w2"] = 5 });

        var rows = new Dictionary<string, long>();
        foreach (var worker in new[] { "w0", "w0", "w1", "w1", "w2", "w2", "w0", "w1", "w2" })
        {
            if (ledger.Lease(0, worker) is LeaseResult.Leased leased)
            {
                rows[worker] = rows.GetValueOrDefault(worker) + leased.Shard.ReadRows;
            }
        }

        Assert.Equal((18L, 15L, 15L), (rows["w0"], rows["w1"], rows["w2"]));
    }

    [Fact]
    public void Should_share_what_a_recovery_left_open_among_the_new_generation()
    {
        // Two workers read 6 of their shard's 10 rows, then w1 dies: its shard and the untouched ones go back, and the new
        // generation of one worker gets all 28 open rows; with a replacement the two would get 14 each.
        var ledger = new ShardLedger(TestPlans.Uniform(4, rows: 10));
        ledger.BeginGeneration(Even("w0", "w1"));
        var a = Leased(ledger, 0, "w0");
        var b = Leased(ledger, 0, "w1");
        ledger.Advance("w0", 1, [new LeaseCursor { Epoch = 0, ShardId = a.ShardId, NextRow = a.ReadStart + 6, Trained = 6 }]);
        ledger.Advance("w1", 1, [new LeaseCursor { Epoch = 0, ShardId = b.ShardId, NextRow = b.ReadStart + 6, Trained = 6 }]);
        ledger.Recover(step: 1);

        ledger.BeginGeneration(Even("w0", "w2"));
        var rows = new Dictionary<string, long>();
        for (var i = 0; i < 6; i++)
        {
            foreach (var worker in new[] { "w0", "w2" })
            {
                if (ledger.Lease(0, worker) is LeaseResult.Leased leased)
                {
                    rows[worker] = rows.GetValueOrDefault(worker) + leased.Shard.ReadRows;
                }
            }
        }

        Assert.Equal((14L, 14L), (rows["w0"], rows["w2"]));
    }

    [Fact]
    public void Should_rebuild_split_shards_from_a_checkpoint_and_hand_out_the_rows_no_piece_covered()
    {
        var plan = TestPlans.Uniform(3, rows: 10);
        var ledger = new ShardLedger(plan);
        ledger.BeginGeneration(Even("w0", "w1"));
        var first = Leased(ledger, 0, "w0");
        var head = Leased(ledger, 0, "w0");   // shard 1, rows [0, 5): done and committed
        var tail = Leased(ledger, 0, "w1");   // shard 1, rows [5, 10): 2 rows trained by the commit
        ledger.Complete(0, first.ShardId, 10, step: 1);
        ledger.Complete(0, head.ShardId, 5, step: 1);
        ledger.Advance("w1", 1, [new LeaseCursor { Epoch = 0, ShardId = tail.ShardId, NextRow = tail.ReadStart + 2, Trained = 2 }]);
        var snapshot = ledger.Commit(1);

        var resumed = new ShardLedger(plan, snapshot);
        var handed = new List<ShardSpec>();
        while (resumed.Lease(0, "w9") is LeaseResult.Leased leased)
        {
            handed.Add(leased.Shard);
        }

        // Only the rows no commit covers: the tail piece from its 3rd row, and shard 2 whole.
        Assert.Equal([(tail.File, tail.ReadStart + 2, tail.ReadEnd), (plan(0).Shards[2].File, 0L, 10L)],
            handed.Select(s => (s.File, s.ReadStart, s.ReadEnd)).OrderBy(s => s.Item1));
        foreach (var shard in handed)
        {
            resumed.Complete(0, shard.ShardId, shard.ReadRows, step: 2);
        }
        resumed.Commit(2);
        var epoch = resumed.Stats().Epochs[0];
        Assert.Equal((true, 30L, 0L, 0L), (epoch.IsComplete, epoch.SamplesCommitted, epoch.Duplicates, epoch.Missing));
    }

    [Fact]
    public void Should_lease_without_shares_when_no_generation_began()
    {
        var ledger = new ShardLedger(TestPlans.Uniform(3, rows: 10));

        Assert.Equal(3, Enumerable.Range(0, 3).Count(_ => ledger.Lease(0, "w0") is LeaseResult.Leased));
    }
}
