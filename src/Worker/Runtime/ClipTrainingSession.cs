using System.Diagnostics;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Collectives;
using MmCluster.Worker.Model;
using MmCluster.Worker.Services;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for a CLIP stage, on its own thread (the agent actor's mailbox never blocks): opens the gRPC
/// collective group with its peers, starts from rank 0's weights (or the stage's <c>init</c> weights, or a checkpoint to
/// resume), freezes the stage's <c>freeze</c> prefixes, pulls shards through the control
/// plane, trains with the distributed ClipLoss and averaged gradients, evaluates and checkpoints on schedule, reports
/// progress, and tells the coordinator when it is done (after releasing the group and the model, so the next stage of the
/// schedule starts clean). One instance trains one stage; <see cref="StageSessionRouter"/> creates one per stage. Any
/// error ends this worker (<paramref name="fail"/>), and the coordinator stops the run naming it.
/// </summary>
public sealed class ClipTrainingSession(CollectiveServer server, string token, Action<string> log, Action<Exception> fail) : ITrainingSession
{
    private readonly CancellationTokenSource stop = new();
    private Thread? thread;

    public void OnGenerationStarted(GenerationInfo generation, IControlPlane control)
    {
        thread = new Thread(() => Run(generation, control)) { Name = "trainer", IsBackground = true };
        thread.Start();
    }

    public void OnRunEnded(RunEnded ended) => stop.Cancel();

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
        await using var group = new TimedCollectiveGroup(GrpcCollectiveGroup.Create(
            new CollectiveGroupOptions(generation.RunId, generation.Generation, generation.Rank, peers, token)
            {
                OperationDeadline = TimeSpan.FromSeconds(60),
            }, server));
        var modelConfig = ClipConfig.FromPreset(config.Preset);
        using var model = new ClipModel(modelConfig);
        // Every rank reads the init weights (a shared run directory, as for resuming), so a mismatch fails every rank with
        // the same message; the broadcast below then changes nothing.
        foreach (var loaded in WeightInitializer.Load(model, config.Init))
        {
            log($"initialised {loaded.Loaded} of {loaded.ModelTensors} tensors from {loaded.From} ({loaded.Path}); {loaded.Unused} unused");
        }
        if (config.Freeze.Count > 0)
        {
            log($"froze {FrozenParameters.Apply(model, config.Freeze)} parameters under {string.Join(", ", config.Freeze)}");
        }
        ParameterBroadcast.FromRoot(group, model.state_dict().Values);
        using var averager = new GradientAverager(group);
        var options = new TrainOptions
        {
            LearningRate = config.LearningRate,
            WarmupSteps = (int)config.WarmupSteps,
            TotalSteps = (int)config.TotalSteps,
            WeightDecay = config.WeightDecay,
            Beta1 = config.Beta1,
            Beta2 = config.Beta2,
            MaxGradNorm = config.GradClip,
        };
        using var trainer = new TrainStep(model, options, new CollectiveFeatureGatherer(group), averager);
        var startEpoch = 0;
        if (config.ResumeFrom is { } resume)
        {
            var meta = CheckpointStore.Load(resume, model, trainer);
            startEpoch = meta.Epoch;
            log($"resumed from {resume} at step {meta.Step}, epoch {meta.Epoch}");
        }

        var decoder = modelConfig is { ImageChannels: 1, ImageSize: 28 }
            ? ImageDecoder.FashionMnist
            : ImageDecoder.ClipRgb(modelConfig.ImageSize);
        var tokenizer = new CaptionTokenizer(modelConfig.ContextLength);
        var evalSet = await EvaluationSet.LoadAsync(config.ManifestPath, config.TestSplit, decoder, generation.Rank, generation.WorldSize, ct);
        var evaluator = new StageEvaluator(model, tokenizer, group, config, evalSet);
        var checkpoints = new CheckpointStore(Path.Combine(config.RunDirectory, "checkpoints", config.Stage));
        var tracker = new LeaseTracker();
        await using var feed = new ShardBatchFeed(control, new ParquetManifestReader(config.ManifestPath, config.TrainSplit),
            new BatchBuilder(decoder, tokenizer), tracker, config.BatchSize, config.TotalSteps - trainer.Step, startEpoch);

        var progress = new ProgressMeter(group);
        // TensorBoard scalars (rank 0 only): loss, lr, throughput, evaluations, under <run>/tensorboard/<stage>.
        var board = generation.Rank == 0
            ? torch.utils.tensorboard.SummaryWriter(Path.Combine(config.RunDirectory, "tensorboard", config.Stage))
            : null;
        IReadOnlyDictionary<string, double> lastEval = new Dictionary<string, double>();
        while (trainer.Step < config.TotalSteps)
        {
            var waitStart = Stopwatch.GetTimestamp();
            var batch = feed.Next(ct);
            var dataMs = Stopwatch.GetElapsedTime(waitStart).TotalMilliseconds;
            var result = trainer.Run(batch);
            foreach (var (lease, rows) in tracker.Consume(batch.Count))
            {
                control.CompleteShard(lease, rows, result.Step);
            }
            progress.Add(batch.Count, dataMs);
            var step = result.Step;
            var last = step == config.TotalSteps;
            if (config.EvalEvery > 0 && step % config.EvalEvery == 0 || last)
            {
                lastEval = evaluator.Evaluate();
                log($"step {step}: eval {string.Join(", ", lastEval.Select(kv => $"{kv.Key}={kv.Value:0.####}"))}");
                foreach (var (key, value) in lastEval)
                {
                    board?.add_scalar($"eval/{key}", (float)value, (int)step);
                }
            }
            if (progress.Due || last)
            {
                var metrics = new Dictionary<string, double>
                {
                    ["lr"] = result.LearningRate,
                    ["grad_norm"] = result.GradNorm,
                    ["logit_scale"] = result.LogitScale,
                    ["data_wait_ms"] = progress.DataWaitMs,
                    ["skipped_rows"] = feed.SkippedRows,
                    ["samples"] = step * config.BatchSize,
                };
                foreach (var (key, value) in lastEval)
                {
                    metrics[$"eval.{key}"] = value;
                }
                var report = progress.Report(step, feed.CurrentEpoch, result.Loss, metrics);
                control.ReportProgress(report);
                board?.add_scalar("train/loss", result.Loss, (int)step);
                board?.add_scalar("train/lr", (float)result.LearningRate, (int)step);
                board?.add_scalar("train/samples_per_s_rank0", (float)report.SamplesPerSecond, (int)step);
            }
            if (config.CheckpointEvery > 0 && step % config.CheckpointEvery == 0 || last)
            {
                await CommitAsync(control, checkpoints, model, trainer, config, generation.Rank, step, feed.CurrentEpoch, ct);
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
        IControlPlane control, CheckpointStore store, ClipModel model, TrainStep trainer, StageConfig config,
        int rank, long step, int epoch, CancellationToken ct)
    {
        var path = Path.Combine(store.Directory, CheckpointStore.FileName(step));
        if (rank == 0)
        {
            Directory.CreateDirectory(store.Directory);
            store.Save(model, trainer, new CheckpointMetadata(step, epoch, config.Seed) { Extra = StageRecord(config) });
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
