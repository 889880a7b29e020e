using Akka.Actor;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Ledger;
using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Runs;
using Xunit;
using Xunit.Abstractions;
using ActorSnapshot = MmCluster.Coordinator.Actors.RunSnapshot;

namespace MmCluster.Coordinator.Tests.Progress;

public sealed class RunProgressFeedActorSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static ActorSnapshot Run(RunPhase phase, long step, string? failure = null) => new(
        "run-1", 1, phase, 2,
        [
            new WorkerStatus("w0", 0, "akka.tcp://mm@127.0.0.1:1", "127.0.0.1:7001", "cpu", 1, step, 0, 2.0, 100, 200, 50,
                new Dictionary<string, double>(), phase == RunPhase.Finished, DateTimeOffset.UtcNow),
            new WorkerStatus("w1", 1, "akka.tcp://mm@127.0.0.1:2", "127.0.0.1:7002", "cpu", 1, step - 1, 0, 1.0, 120, 200, 150,
                new Dictionary<string, double>(), phase == RunPhase.Finished, null),
        ],
        new LedgerStats([new EpochLedgerStats(0, 10, 0, 0, 0, 10, 640, 600, 40, 0, 0, false)]),
        null, null, failure, DateTimeOffset.UtcNow);

    [Fact]
    public void Should_publish_translated_snapshots_and_record_history_when_the_run_actor_reports()
    {
        var runActor = CreateTestProbe();
        var hub = new RunProgressHub(RunSnapshots.Pending());
        var feed = Sys.ActorOf(RunProgressFeedActor.Props(runActor.Ref, hub, "clip"), "dashboard-feed");
        Assert.Equal(feed, runActor.ExpectMsg<SubscribeRunSnapshots>().Subscriber);

        feed.Tell(Run(RunPhase.Running, 5));
        AwaitAssert(() => Assert.Equal(RunState.Running, hub.Current.State));
        var running = hub.Current;
        Assert.Equal((5L, 1.5, 220.0, 0.5), (running.Step, running.Loss, running.SamplesPerSecond, running.CollectiveFraction));
        Assert.Equal(("127.0.0.1:7002", WorkerState.Training), (running.Workers[1].Address, running.Workers[1].State));
        Assert.Equal(new LedgerCounters("clip", 0, 640, 600, 0, 0), Assert.Single(running.Ledger));
        var clip = running.Stages.Single(s => s.Name == "clip");
        Assert.Equal((StageState.Running, 5L, 640L, 1.5), (clip.State, clip.Step, clip.SamplesSeen, clip.Losses["loss"]));

        feed.Tell(Run(RunPhase.Failed, 6, "worker w1 left"));
        AwaitAssert(() => Assert.Equal(RunState.Failed, hub.Current.State));
        Assert.Equal("worker w1 left", hub.Current.Error);
        Assert.Equal(StageState.Failed, hub.Current.Stages.Single(s => s.Name == "clip").State);
        Assert.Equal(StageState.Pending, hub.Current.Stages.Single(s => s.Name == "lm").State);
        Assert.Equal(5L, Assert.Single(hub.History).Step);

        Sys.Stop(feed);
        runActor.ExpectMsg<UnsubscribeRunSnapshots>();
    }
}
