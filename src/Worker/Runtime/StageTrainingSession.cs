using System.Diagnostics;
using MmCluster.Collectives;
using MmCluster.Collectives.Ring;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for one stage of any kind, on its own thread (the agent actor's mailbox never blocks): opens the
/// gRPC collective group with its peers, lets the kind build its model and trainer (<see cref="CreateTrainerAsync"/>:
/// init weights, frozen parts, rank 0's weights broadcast, a resumed checkpoint), pulls shards through the control plane,
/// trains, evaluates and checkpoints on schedule (commit protocol), reports progress (each named loss as
/// <c>loss.&lt;name&gt;</c>, evaluations as <c>eval.&lt;name&gt;</c>) and TensorBoard scalars, and tells the coordinator
/// when it is done (after releasing the group and the model, so the next stage of the schedule starts clean). One
/// instance trains one stage; <see cref="StageSessionRouter"/> creates one per stage. Any error ends this worker
/// (<paramref name="fail"/>), and the coordinator stops the run naming it.
/// </summary>
public abstract class StageTrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail) : ITrainingSession
{
    private readonly CancellationTokenSource stop = new();
    private Thread? thread;

    public void OnGenerationStarted(GenerationInfo generation, IControlPlane control)
    {
        thread = new Thread(() => Run(generation, control)) { Name = "trainer", IsBackground = true };
        thread.Start();
    }

    public void OnRunEnded(RunEnded ended) => stop.Cancel();

    /// <summary>
    /// Builds this kind's model and trainer for the stage (called on the trainer thread, the group open), through
    /// <see cref="StageTrainer{TModel,TStep}.Build"/>.
    /// </summary>
    private protected abstract Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct);

    /// <summary>The stage's optimizer settings as the trainers take them.</summary>
    internal static TrainOptions OptionsOf(StageConfig config) => new()
    {
        LearningRate = config.LearningRate,
        WarmupSteps = (int)config.WarmupSteps,
        TotalSteps = (int)config.TotalSteps,
        WeightDecay = config.WeightDecay,
        Beta1 = config.Beta1,
        Beta2 = config.Beta2,
        MaxGradNorm = config.GradClip,
    };

    /// <summary>Sums <paramref name="values"/> over the ranks of the stage's group (in place) and returns them.</summary>
    internal static float[] SumOverRanks(ICollectiveGroup group, float[] values)
    {
        TensorCollectives.Wait(() => group.AllReduceAsync(values, ReduceOp.Sum));
        return values;
    }

    private void Run(GenerationInfo generation, IControlPlane control)
    {
        try
        {
            var config = StageConfig.FromJson(generation.StageConfig.Span);
            var step = TrainAsync(generation, control, config).GetAwaiter().GetResult();
            control.ReportFinished(step);
            log($"finished {config.Stage} at step {step}");
        }
        catch (Exception e) when (stop.IsCancellationRequested)
        {
            log($"trainer stopped: {e.Message}");
        }
        catch (Exception e)
        {
            control.ReportFailed(e.Message, CollectiveException.LostPeerOf(e));
            fail(e);
        }
    }

    /// <returns>The step the stage ended at.</returns>
    private async Task<long> TrainAsync(GenerationInfo generation, IControlPlane control, StageConfig config)
    {
        var ct = stop.Token;
        torch.set_num_threads(Math.Max(1, config.Threads));
        torch.manual_seed(config.Seed);
        var peers = generation.Peers.OrderBy(p => p.Rank).Select(p => p.CollectiveAddress).ToList();
        var ring = GrpcCollectiveGroup.Create(server.GroupOptions(generation.RunId, generation.Generation, generation.Rank, peers), server);
        await using var group = new TimedCollectiveGroup(ring);
        using var trainer = await CreateTrainerAsync(new StageContext(generation, config, group, log), ct);
        var checkpoints = new CheckpointStore(Path.Combine(config.RunDirectory, "checkpoints", config.Stage));
        var tracker = new LeaseTracker();
        await using var manifest = config.OpenManifest(config.TrainSplit);
        var rows = config.RowsPerRank(generation.WorldSize, generation.Rank);   // this rank's share of the global batch
        await using var feed = new ShardBatchFeed(control, manifest,
            trainer.Batches, tracker, rows, config.TotalSteps - trainer.Step, trainer.StartEpoch, log: log);

        var progress = new ProgressMeter(group);
        // TensorBoard scalars (rank 0 only): loss, lr, throughput, evaluations, under <run>/tensorboard/<stage>.
        var board = generation.Rank == 0
            ? torch.utils.tensorboard.SummaryWriter(Path.Combine(config.RunDirectory, "tensorboard", config.Stage))
            : null;
        IReadOnlyDictionary<string, double> lastEval = new Dictionary<string, double>();
        var lanesLogged = generation.Peers.Count < 2;
        while (trainer.Step < config.TotalSteps)
        {
            var waitStart = Stopwatch.GetTimestamp();
            var batch = feed.Next(ct);
            var dataMs = Stopwatch.GetElapsedTime(waitStart).TotalMilliseconds;
            var result = trainer.Train(batch);
            if (!lanesLogged)
            {
                lanesLogged = true;
                log($"collective lanes: {ring.TransportSummary}");
            }
            foreach (var done in tracker.Consume(batch.Count))
            {
                control.CompleteShard(done.Lease, done.Rows, result.Step, done.Skipped);
            }
            progress.Add(batch.Count, dataMs);
            var step = result.Step;
            var last = step == config.TotalSteps;
            if (config.EvalEvery > 0 && step % config.EvalEvery == 0 || last)
            {
                lastEval = trainer.Evaluate();
                log($"step {step}: eval {string.Join(", ", lastEval.Select(kv => $"{kv.Key}={kv.Value:0.####}"))}");
                foreach (var (key, value) in lastEval)
                {
                    board?.add_scalar($"eval/{key}", (float)value, (int)step);
                }
            }
            if (progress.Due || last)
            {
                var report = progress.Report(step, feed.CurrentEpoch, result.Loss);
                report.Lr = result.LearningRate;
                report.GradNorm = result.GradNorm;
                report.Samples = step * rows;
                report.SkippedRows = feed.SkippedRows;
                trainer.StepMetrics.CopyTo(report);
                foreach (var (key, value) in result.Losses)
                {
                    report.Losses[key] = value;
                    board?.add_scalar($"train/loss_{key}", value, (int)step);
                }
                foreach (var (key, value) in lastEval)
                {
                    report.Eval[key] = value;
                }
                control.ReportProgress(report);
                board?.add_scalar("train/loss", result.Loss, (int)step);
                board?.add_scalar("train/lr", (float)result.LearningRate, (int)step);
                board?.add_scalar("train/samples_per_s_rank0", (float)report.SamplesPerSecond, (int)step);
            }
            if (config.CheckpointEvery > 0 && step % config.CheckpointEvery == 0 || last)
            {
                await CommitAsync(control, checkpoints, trainer, config, generation.Rank, step, feed.CurrentEpoch, ct);
            }
        }
        return trainer.Step;
    }

    /// <summary>The stage's inputs, kept in each of its checkpoints: which stage this is and where its weights came from.</summary>
    internal static IReadOnlyDictionary<string, string> StageRecord(StageConfig config) => new Dictionary<string, string>
    {
        ["run_id"] = config.RunId,
        ["stage"] = config.Stage,
        ["kind"] = config.Kind,
        ["preset"] = config.Preset,
        ["init"] = string.Join(";", config.Init.Select(i => $"{i.From}={i.Checkpoint}")),
        ["freeze"] = string.Join(";", config.Freeze),
    };

    /// <summary>Rank 0 writes weights + optimizer + RNG; every rank votes; the committed ledger is stored beside them.</summary>
    private static async Task CommitAsync(
        IControlPlane control, CheckpointStore store, IStageTrainer trainer, StageConfig config,
        int rank, long step, int epoch, CancellationToken ct)
    {
        var path = Path.Combine(store.Directory, CheckpointStore.FileName(step));
        if (rank == 0)
        {
            Directory.CreateDirectory(store.Directory);
            trainer.Save(store, new CheckpointMetadata(step, epoch, config.Seed) { Extra = StageRecord(config) });
        }
        var commit = await control.CommitCheckpointAsync(step, path, ct);
        if (rank == 0)
        {
            var ledgerPath = LedgerSidecar.PathFor(path);
            var tmp = ledgerPath + ".tmp";
            await File.WriteAllBytesAsync(tmp, commit.Ledger.ToArray(), ct);
            File.Move(tmp, ledgerPath, overwrite: true);
        }
    }
}
