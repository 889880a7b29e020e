using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Google.Protobuf;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Hosting;
using MmCluster.Shared.Grpc.Journal;
using Microsoft.Data.Sqlite;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Journal;

public sealed class RunJournalActorSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    private readonly JournalDatabase database = new();

    [Fact]
    public async Task Should_recover_the_same_run_record_when_a_new_actor_system_opens_the_database()
    {
        var events = Run();
        var (host, system) = await database.StartAsync();
        var before = Record(system, events);
        await JournalDatabase.StopAsync(host);

        (host, system) = await database.StartAsync();
        var after = Ask(system, "run-1");
        await JournalDatabase.StopAsync(host);

        Assert.Equal(before, after);
        Assert.Equal((1, "blip2", 3L, 2), (after.StageIndex, after.StageName, after.Generation, after.WorldSize));
        Assert.Equal(["worker-0", "worker-2"], after.Members.Select(m => m.WorkerId));
        Assert.Equal([0], after.FinishedStages);
        Assert.Equal(20, after.LastCommits[0].Step);
        Assert.Equal(JournalDatabase.Ledger(20).ToByteArray(), after.LastCommits[0].Ledger.ToByteArray());
        Assert.Equal(JournalDatabase.Ledger(5).ToByteArray(), after.LastCommits[1].Ledger.ToByteArray());
        Assert.Equal("/runs/r/checkpoints/blip2/step-00000005.safetensors", after.LastCommits[1].CheckpointPath);
        var recovery = Assert.Single(after.Recoveries);
        Assert.Equal((2L, 3L, 3, 2, 4L), (recovery.GenerationBefore, recovery.GenerationAfter, recovery.WorldSizeBefore, recovery.WorldSizeAfter, recovery.LostSteps));
        Assert.False(after.Ended.Succeeded);
    }

    [Fact]
    public async Task Should_recover_from_the_snapshot_and_the_events_after_it_when_more_events_follow_a_snapshot()
    {
        var (host, system) = await database.StartAsync();
        var journal = system.ActorOf(RunJournalActor.Props("run-1", snapshotEvery: 4));
        var probe = CreateTestProbe(system);
        journal.Tell(new StageStarted { StageIndex = 0, StageName = "clip", Generation = 1 }, probe.Ref);
        journal.Tell(Generation(1, "worker-0", "worker-1"), probe.Ref);
        for (var step = 10; step <= 90; step += 10)
        {
            journal.Tell(Commit(0, step), probe.Ref);
        }
        var recorded = probe.ReceiveN(11, JournalDatabase.Durable).Cast<RunEventRecorded>().ToList();
        Assert.Equal(Enumerable.Range(1, 11).Select(n => (long)n), recorded.Select(r => r.SequenceNr));
        // Snapshots at events 4 and 8: once the second is saved, the journal keeps event 8 (its persistence id's
        // anchor) and the three after it, and one snapshot.
        AwaitAssert(() => Assert.Equal((4L, 1L), (Rows("journal", "deleted = 0"), Rows("snapshot"))), JournalDatabase.Durable);
        await JournalDatabase.StopAsync(host);

        (host, system) = await database.StartAsync();
        var after = Ask(system, "run-1");
        var more = system.ActorOf(RunJournalActor.Props("run-1", snapshotEvery: 4));
        probe = CreateTestProbe(system);
        more.Tell(Commit(0, 100), probe.Ref);
        probe.ExpectMsg<RunEventRecorded>(r => r.SequenceNr == 12, JournalDatabase.Durable);
        await JournalDatabase.StopAsync(host);

        Assert.Equal(90, after.LastCommits[0].Step);
        Assert.Equal(JournalDatabase.Ledger(90).ToByteArray(), after.LastCommits[0].Ledger.ToByteArray());
        Assert.Equal(["worker-0", "worker-1"], after.Members.Select(m => m.WorkerId));
        Assert.Equal((0, 1L), (after.StageIndex, after.Generation));
    }

    [Fact]
    public async Task Should_reject_a_generation_when_it_is_below_the_journals()
    {
        var (host, system) = await database.StartAsync();
        var journal = system.ActorOf(RunJournalActor.Props("run-1"));
        var probe = CreateTestProbe(system);
        journal.Tell(Generation(4, "worker-0"), probe.Ref);
        probe.ExpectMsg<RunEventRecorded>(JournalDatabase.Durable);

        journal.Tell(Generation(3, "worker-1"), probe.Ref);
        journal.Tell(new StepCommitted { StageIndex = 0, Step = 10 }, probe.Ref);

        Assert.Contains("generation 3 is below the journal's generation 4", probe.ExpectMsg<RunEventRejected>(JournalDatabase.Durable).Reason);
        Assert.Contains("carries no ledger", probe.ExpectMsg<RunEventRejected>(JournalDatabase.Durable).Reason);
        Assert.Equal(["worker-0"], Ask(system, "run-1", journal).Members.Select(m => m.WorkerId));
        await JournalDatabase.StopAsync(host);
    }

    private static IMessage[] Run() =>
    [
        new StageStarted { StageIndex = 0, StageName = "clip", Generation = 1 },
        Generation(1, "worker-0", "worker-1"),
        Commit(0, 10),
        Commit(0, 20),
        new StageFinished { StageIndex = 0 },
        new StageStarted { StageIndex = 1, StageName = "blip2", Generation = 2 },
        Generation(2, "worker-0", "worker-1", "worker-2"),
        new StepCommitted { StageIndex = 1, Step = 5, CheckpointPath = "/runs/r/checkpoints/blip2/step-00000005.safetensors", Ledger = JournalDatabase.Ledger(5) },
        new RecoveryRecorded
        {
            StageIndex = 1, Step = 5, Cause = "worker worker-1 (rank 1) became unreachable mid-run", GenerationBefore = 2,
            GenerationAfter = 3, WorldSizeBefore = 3, WorldSizeAfter = 2, LostSteps = 4, DetectMs = 5300.5, ReformMs = 120,
            TransferMs = 40.25, FirstStepMs = 480,
        },
        new GenerationStarted { Generation = 3, WorldSize = 2, Members = { new MemberRank { WorkerId = "worker-2", Rank = 1 }, new MemberRank { WorkerId = "worker-0", Rank = 0 } } },
        new RunEnded { Succeeded = false, Reason = "the coordinator was stopped" },
    ];

    private static GenerationStarted Generation(long generation, params string[] workers) => new()
    {
        Generation = generation,
        WorldSize = workers.Length,
        Members = { workers.Select((w, rank) => new MemberRank { WorkerId = w, Rank = rank }) },
    };

    private static StepCommitted Commit(int stage, long step) => new()
    {
        StageIndex = stage,
        Step = step,
        CheckpointPath = $"/runs/r/checkpoints/stage-{stage}/step-{step:D8}.safetensors",
        Ledger = JournalDatabase.Ledger(step),
    };

    private RunRecord Record(ActorSystem system, IMessage[] events)
    {
        var journal = system.ActorOf(RunJournalActor.Props("run-1"));
        var probe = CreateTestProbe(system);
        foreach (var e in events)
        {
            journal.Tell(e, probe.Ref);
            probe.ExpectMsg<RunEventRecorded>(r => r.Event.Equals(e), JournalDatabase.Durable);
        }
        return Ask(system, "run-1", journal);
    }

    private RunRecord Ask(ActorSystem system, string runId, IActorRef? journal = null)
    {
        journal ??= system.ActorOf(RunJournalActor.Props(runId));
        var probe = CreateTestProbe(system);
        journal.Tell(GetRunRecord.Instance, probe.Ref);
        return probe.ExpectMsg<RunRecord>(JournalDatabase.Durable);
    }

    private long Rows(string table, string where = "1 = 1")
    {
        using var connection = new SqliteConnection($"Data Source={database.Path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table} WHERE {where}";
        return (long)command.ExecuteScalar()!;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            database.Dispose();
        }
    }
}
