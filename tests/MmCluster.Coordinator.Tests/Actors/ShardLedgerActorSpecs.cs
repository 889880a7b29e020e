using Akka.Actor;
using Akka.TestKit.Xunit2;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Ledger;
using MmCluster.Coordinator.Tests.Ledger;
using MmCluster.Shared.Grpc.Control;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Actors;

public sealed class ShardLedgerActorSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    [Fact]
    public void Should_lease_a_shard_when_a_worker_asks_for_work()
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(4)));

        ledger.Tell(Request("w0", requestId: 42), TestActor);

        var leased = ExpectMsg<ShardLeased>();
        Assert.Equal((42L, 0, 10L), (leased.RequestId, leased.Epoch, leased.RowCount));
        Assert.EndsWith(".parquet", leased.File);
    }

    [Fact]
    public void Should_never_lease_the_same_shard_twice_when_two_workers_ask_in_one_epoch()
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(6)));
        var w0 = CreateTestProbe();
        var w1 = CreateTestProbe();

        for (var i = 0; i < 3; i++)
        {
            ledger.Tell(Request("w0", i), w0.Ref);
            ledger.Tell(Request("w1", i), w1.Ref);
        }
        var shards = w0.ReceiveN(3).Concat(w1.ReceiveN(3)).Cast<ShardLeased>().Select(s => s.ShardId).ToList();

        Assert.Equal(6, shards.Distinct().Count());
        ledger.Tell(Request("w0", 9), w0.Ref);
        w0.ExpectMsg<NoShardAvailable>(n => n.RequestId == 9 && n.RetryAfterMs > 0);
    }

    [Fact]
    public void Should_return_a_lost_workers_leases_from_their_kept_rows_when_the_run_recovers()
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(2)));
        var doomed = CreateTestProbe();
        var survivor = CreateTestProbe();
        ledger.Tell(Request("doomed", 1), doomed.Ref);
        ledger.Tell(Request("doomed", 2), doomed.Ref);
        var lost = doomed.ReceiveN(2).Cast<ShardLeased>().Select(s => s.ShardId).Order().ToList();
        var started = new StepStarted { WorkerId = "doomed", Generation = 1, Step = 1 };
        started.Cursors.Add(new LeaseCursor { Epoch = 0, ShardId = lost[0], NextRow = 3, Trained = 3 });
        ledger.Tell(started);
        Sys.Stop(doomed.Ref);
        ledger.Tell(Request("survivor", 1), survivor.Ref);
        survivor.ExpectMsg<NoShardAvailable>();   // a dead holder's leases wait for the recovery, which knows its kept steps

        ledger.Tell(new RecoverLedger(1), TestActor);
        var recovered = ExpectMsg<LedgerRecovered>();

        Assert.Equal(2, recovered.Result.LeasesReturned);
        ledger.Tell(Request("survivor", 2), survivor.Ref);
        ledger.Tell(Request("survivor", 3), survivor.Ref);
        var regained = survivor.ReceiveN(2).Cast<ShardLeased>().ToList();
        Assert.Equal(lost, regained.Select(s => s.ShardId).Order().ToList());
        Assert.Equal(3, regained.Single(s => s.ShardId == lost[0]).SkipRows);
    }

    [Fact]
    public void Should_complete_the_epoch_when_every_shard_is_done()
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(3)));
        var leases = Enumerable.Range(0, 3).Select(i =>
        {
            ledger.Tell(Request("w0", i), TestActor);
            return ExpectMsg<ShardLeased>();
        }).ToList();
        ledger.Tell(Request("w0", 10), TestActor);
        ExpectMsg<NoShardAvailable>();

        foreach (var lease in leases)
        {
            ledger.Tell(new ShardCompleted { WorkerId = "w0", Epoch = 0, ShardId = lease.ShardId, RowsConsumed = lease.RowCount, Step = 1 }, TestActor);
        }
        ledger.Tell(Request("w0", 11), TestActor);

        ExpectMsg<EpochCompleted>(c => c.RequestId == 11 && c.SamplesExpected == 30);
        ledger.Tell(Request("w0", 12, epoch: 1), TestActor);
        ExpectMsg<ShardLeased>(l => l.Epoch == 1);
    }

    [Fact]
    public void Should_publish_ledger_stats_with_committed_samples_when_the_ledger_commits()
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(TestPlans.Uniform(1)));
        var subscriber = CreateTestProbe();
        ledger.Tell(new SubscribeLedgerStats(subscriber.Ref));
        subscriber.ExpectMsg<LedgerStats>();
        ledger.Tell(Request("w0", 1), TestActor);
        var lease = ExpectMsg<ShardLeased>();
        ledger.Tell(new ShardCompleted { WorkerId = "w0", Epoch = 0, ShardId = lease.ShardId, RowsConsumed = 10, Step = 3 }, TestActor);

        ledger.Tell(new CommitLedger(3), TestActor);

        var committed = ExpectMsg<LedgerCommitted>();
        Assert.Equal(10, committed.Snapshot.Epochs.Single().Committed.Single().RowsConsumed);
        subscriber.FishForMessage<LedgerStats>(s => s.Epochs.Count == 1 && s.Epochs[0] is { SamplesCommitted: 10, Missing: 0, Duplicates: 0, IsComplete: true });
    }

    [Fact]
    public void Should_report_a_fault_when_an_epoch_cannot_be_planned()
    {
        var ledger = Sys.ActorOf(ShardLedgerActor.Props(_ => throw new IOException("part-3.parquet: not a Parquet file")));
        var subscriber = CreateTestProbe();
        ledger.Tell(new SubscribeLedgerStats(subscriber.Ref));
        subscriber.ExpectMsg<LedgerStats>();

        ledger.Tell(Request("w0", 1), TestActor);

        subscriber.ExpectMsg<LedgerFault>(f => f.Reason.Contains("part-3.parquet") && f.Reason.Contains("w0"));
    }

    private static RequestShard Request(string worker, long requestId, int epoch = 0) =>
        new() { WorkerId = worker, Epoch = epoch, RequestId = requestId };
}
