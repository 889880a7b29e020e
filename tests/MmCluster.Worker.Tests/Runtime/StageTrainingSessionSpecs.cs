using System.Collections.Concurrent;
using MmCluster.Collectives;
using MmCluster.Collectives.Ring;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Recovery;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>
/// The stage training loop with a recording trainer (no model) on one rank: real Parquet shards through the feed, the
/// collective group over the worker's own server, and a scripted coordinator.
/// </summary>
public sealed class StageTrainingSessionSpecs : IAsyncLifetime
{
    private readonly string runDirectory = Directory.CreateTempSubdirectory("stage-session-").FullName;
    private readonly ConcurrentQueue<Exception> failures = new();
    private readonly RecordingTrainer trainer = new();
    private CollectiveServer server = null!;

    public async Task InitializeAsync() => server = await CollectiveServer.StartAsync(new CollectiveServerOptions { BearerToken = "token" });

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(runDirectory, recursive: true);
    }

    [Fact]
    public async Task Should_train_evaluate_checkpoint_and_complete_shards_on_schedule_when_a_stage_runs_to_its_end()
    {
        using var manifest = await FeedFixtures.WriteManifestAsync(rows: 10, rowsPerGroup: 4);
        var control = new ScriptedControlPlane(manifest.Shards);
        var config = new StageConfig
        {
            RunId = "r", RunDirectory = runDirectory, Stage = "s", Kind = "recording", Preset = "p", ManifestPath = manifest.Folder,
            BatchSize = 3, TotalSteps = 5, EvalEvery = 2, CheckpointEvery = 3,
        };
        var session = new RecordingSession(server, trainer, failures);

        session.OnGenerationStarted(new GenerationInfo("r", 1, 0, 1, [new PeerInfo(0, "worker-0", server.Address, "")], config.ToJsonBytes()), control);
        var finished = await control.Finished.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(failures);
        Assert.Equal(5, finished);
        Assert.Equal([3, 3, 3, 3, 3], trainer.Trained);
        Assert.Equal([2L, 4L, 5L], trainer.Evaluated);
        Assert.Equal([3L, 5L], trainer.Saved);
        var checkpoints = Path.Combine(runDirectory, "checkpoints", "s");
        Assert.Equal([(3L, Path.Combine(checkpoints, "step-00000003.safetensors")), (5L, Path.Combine(checkpoints, "step-00000005.safetensors"))], control.Commits);
        Assert.Equal(control.Ledger, await File.ReadAllBytesAsync(LedgerSidecar.PathFor(Path.Combine(checkpoints, "step-00000005.safetensors"))));
        // A shard is done at the step that trained its last row: rows 0-3 at step 2, 4-7 at 3, 8-9 at 4, epoch 1's 0-3 at 5.
        Assert.Equal([(0, 4L, 2L), (0, 4L, 3L), (0, 2L, 4L), (1, 4L, 5L)], control.Completed);
        Assert.Equal(5, control.Progress.Last().Step);
        Assert.True(trainer.Disposed);
    }

    [Fact]
    public async Task Should_report_the_failure_and_fail_the_worker_when_the_trainer_throws()
    {
        using var manifest = await FeedFixtures.WriteManifestAsync(rows: 4, rowsPerGroup: 4);
        var control = new ScriptedControlPlane(manifest.Shards);
        var config = new StageConfig { RunId = "r", RunDirectory = runDirectory, Stage = "s", Kind = "recording", Preset = "p", ManifestPath = manifest.Folder, BatchSize = 2, TotalSteps = 3 };
        trainer.FailAtStep = 2;
        var session = new RecordingSession(server, trainer, failures);

        session.OnGenerationStarted(new GenerationInfo("r", 1, 0, 1, [new PeerInfo(0, "worker-0", server.Address, "")], config.ToJsonBytes()), control);

        var reported = await Assert.ThrowsAsync<InvalidOperationException>(() => control.Finished.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("step 2 broke", reported.Message);
        Assert.Equal("step 2 broke", Assert.Single(failures).Message);
        Assert.True(trainer.Disposed);
    }

    [Fact]
    public async Task Should_stop_at_the_step_boundary_and_report_the_completed_step_when_the_coordinator_drains_the_generation()
    {
        using var manifest = await FeedFixtures.WriteManifestAsync(rows: 10, rowsPerGroup: 4);
        var control = new ScriptedControlPlane(manifest.Shards);
        var config = new StageConfig { RunId = "r", RunDirectory = runDirectory, Stage = "s", Kind = "recording", Preset = "p", ManifestPath = manifest.Folder, BatchSize = 2, TotalSteps = 50 };
        trainer.StepDelayMs = 100;
        var session = new RecordingSession(server, trainer, failures);

        session.OnGenerationStarted(new GenerationInfo("r", 1, 0, 1, [new PeerInfo(0, "worker-0", server.Address, "")], config.ToJsonBytes()), control);
        session.OnGenerationDrain(1, afterStep: 3, "worker-1 joined: growing to 2 workers");

        var (completed, reason) = await control.Aborted.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(3, completed);
        Assert.Contains("drained after step 3", reason);
        Assert.Equal(3, trainer.Trained.Count);
        Assert.Equal([1L, 2L, 3L], control.Started);   // step 4 was never reported started: its rows go back to the ledger
        Assert.Empty(failures);
        session.OnRunEnded(new RunEnded(false, "spec over"));
    }

    private sealed class RecordingSession(CollectiveServer server, IStageTrainer trainer, ConcurrentQueue<Exception> failures)
        : StageTrainingSession(server, _ => { }, failures.Enqueue)
    {
        private protected override Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct) => Task.FromResult(trainer);
    }

    /// <summary>Records what the loop asks of a trainer; its "loss" is 1 / step.</summary>
    private sealed class RecordingTrainer : IStageTrainer
    {
        public List<int> Trained { get; } = [];

        public List<long> Evaluated { get; } = [];

        public List<long> Saved { get; } = [];

        public long FailAtStep { get; set; } = -1;

        public int StepDelayMs { get; set; }

        public bool Disposed { get; private set; }

        public long Step { get; private set; }

        public int StartEpoch => 0;

        public BatchBuilder Batches { get; } = FeedFixtures.Builder();

        public StepMetrics StepMetrics => StepMetrics.None;

        public StageStepResult Train(ClipBatch batch)
        {
            if (Step + 1 == FailAtStep)
            {
                throw new InvalidOperationException($"step {FailAtStep} broke");
            }
            Thread.Sleep(StepDelayMs);
            Trained.Add(batch.Count);
            Step++;
            return new StageStepResult(Step, 1f / Step, 0.1, 1.0, new Dictionary<string, float>());
        }

        public IReadOnlyDictionary<string, double> Evaluate()
        {
            Evaluated.Add(Step);
            return new Dictionary<string, double> { ["steps"] = Step };
        }

        public void Save(CheckpointStore store, CheckpointMetadata metadata) => Saved.Add(metadata.Step);

        public TrainingStateTransferResult TransferState(ICollectiveGroup group, int sourceRank) =>
            throw new NotSupportedException("the session does not transfer state yet");

        public void Dispose() => Disposed = true;
    }
}
