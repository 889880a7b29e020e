using Google.Protobuf;
using MmCluster.Coordinator.Hosting;
using MmCluster.Coordinator.Journal;
using MmCluster.Coordinator.Tests.Journal;
using MmCluster.Shared.Grpc.Journal;
using MmCluster.Shared.Runs;
using Xunit;

namespace MmCluster.Coordinator.Tests.Hosting;

public sealed class ResumePlannerSpecs : IDisposable
{
    private readonly JournalDatabase database = new();

    [Fact]
    public async Task Should_resume_from_the_journals_commit_when_a_later_sidecar_checkpoint_exists_too()
    {
        var configs = Configs();
        var journaled = Checkpoint("clip", 10);
        Checkpoint("clip", 20);
        var record = Record(new StepCommitted { StageIndex = 0, Step = 10, CheckpointPath = journaled, Ledger = JournalDatabase.Ledger(10) });

        var point = await ResumePlanner.PlanAsync(configs, record);

        Assert.Equal((0, journaled, 5L), (point.StartAt, point.Configs[0].ResumeFrom, point.Generation));
        Assert.Equal(JournalDatabase.Ledger(10).ToByteArray(), point.Ledger!.ToByteArray());
        Assert.StartsWith("journal of run run-1", point.Source);
    }

    [Fact]
    public async Task Should_scan_the_sidecars_when_there_is_no_journal()
    {
        var configs = Configs();
        var latest = Checkpoint("clip", 20);

        var point = await ResumePlanner.PlanAsync(configs, journal: null);

        Assert.Equal((0, latest, 1L, 20L), (point.StartAt, point.Configs[0].ResumeFrom, point.Generation, point.Ledger!.Step));
    }

    [Fact]
    public async Task Should_start_the_next_stage_fresh_when_the_journal_finished_the_stage()
    {
        var configs = Configs();
        var record = Record(new StepCommitted { StageIndex = 0, Step = 100, CheckpointPath = Checkpoint("clip", 100), Ledger = JournalDatabase.Ledger(100) });
        RunRecordFold.Apply(record, new StageFinished { StageIndex = 0 });

        var point = await ResumePlanner.PlanAsync(configs, record);

        Assert.Equal((1, (string?)null, 5L), (point.StartAt, point.Configs[1].ResumeFrom, point.Generation));
        Assert.Null(point.Ledger);
    }

    [Fact]
    public async Task Should_name_the_checkpoint_when_the_journals_commit_points_at_a_missing_file()
    {
        var missing = Path.Combine(database.Directory, "checkpoints", "clip", "step-00000010.safetensors");
        var record = Record(new StepCommitted { StageIndex = 0, Step = 10, CheckpointPath = missing, Ledger = JournalDatabase.Ledger(10) });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ResumePlanner.PlanAsync(Configs(), record));

        Assert.Contains(missing, error.Message);
    }

    private static RunRecord Record(StepCommitted commit)
    {
        var record = RunRecordFold.Empty("run-1");
        RunRecordFold.Apply(record, new StageStarted { StageIndex = 0, StageName = "clip", Generation = 3 });
        RunRecordFold.Apply(record, new GenerationStarted { Generation = 4, WorldSize = 2 });
        RunRecordFold.Apply(record, commit);
        return record;
    }

    private IReadOnlyList<StageConfig> Configs() =>
    [
        Config(0, "clip"),
        Config(1, "lm"),
    ];

    private StageConfig Config(int index, string stage) => new()
    {
        RunId = "run-1",
        RunDirectory = database.Directory,
        Stage = stage,
        Kind = "clip",
        Preset = "tiny",
        ManifestPath = "/data/m",
        StageIndex = index,
        StageCount = 2,
        TotalSteps = 100,
    };

    private string Checkpoint(string stage, long step)
    {
        var directory = StageSchedule.CheckpointDirectory(database.Directory, stage);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"step-{step:D8}.safetensors");
        File.WriteAllBytes(path, [0]);
        File.WriteAllBytes(LedgerSidecar.PathFor(path), JournalDatabase.Ledger(step).ToByteArray());
        return path;
    }

    public void Dispose() => database.Dispose();
}
