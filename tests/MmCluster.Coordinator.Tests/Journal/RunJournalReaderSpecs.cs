using Akka.TestKit.Xunit2;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Hosting;
using MmCluster.Shared.Grpc.Journal;
using Microsoft.Data.Sqlite;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Journal;

public sealed class RunJournalReaderSpecs(ITestOutputHelper output) : TestKit(output: output)
{
    private readonly JournalDatabase database = new();

    [Fact]
    public async Task Should_read_nothing_when_the_run_directory_has_no_journal()
    {
        Assert.Null(await RunJournalReader.ReadAsync(database.Path));
        Assert.False(File.Exists(database.Path));
    }

    [Fact]
    public async Task Should_read_the_run_id_and_its_record_when_a_coordinator_journaled_a_run()
    {
        var (host, system) = await database.StartAsync();
        var journal = system.ActorOf(RunJournalActor.Props("fmnist-20260601-120000"));
        var probe = CreateTestProbe(system);
        journal.Tell(new StageStarted { StageIndex = 0, StageName = "clip", Generation = 2 }, probe.Ref);
        journal.Tell(new StepCommitted { StageIndex = 0, Step = 30, CheckpointPath = "/c/step-30", Ledger = JournalDatabase.Ledger(30) }, probe.Ref);
        probe.ReceiveN(2, JournalDatabase.Durable);
        await JournalDatabase.StopAsync(host);

        var record = await RunJournalReader.ReadAsync(database.Path);

        Assert.NotNull(record);
        Assert.Equal(("fmnist-20260601-120000", 0, 2L, 30L), (record.RunId, record.StageIndex, record.Generation, record.LastCommits[0].Step));
    }

    [Fact]
    public async Task Should_name_the_file_when_the_database_is_corrupt()
    {
        await File.WriteAllBytesAsync(database.Path, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => RunJournalReader.ReadAsync(database.Path));

        Assert.Contains(database.Path, error.Message);
        Assert.Contains("is not a coordinator journal", error.Message);
    }

    [Fact]
    public async Task Should_name_the_file_and_leave_it_untouched_when_the_database_belongs_to_another_application()
    {
        using (var connection = new SqliteConnection($"Data Source={database.Path};Pooling=False"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)";
            create.ExecuteNonQuery();
        }
        var before = await File.ReadAllBytesAsync(database.Path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => RunJournalReader.ReadAsync(database.Path));

        Assert.Equal($"{database.Path} is not a coordinator journal: it holds the tables users, not Akka.Persistence's journal and snapshot. Move it away or pass another database.", error.Message);
        Assert.Equal(before, await File.ReadAllBytesAsync(database.Path));
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
