using System.Text.Json;
using MmCluster.Collectives.Ring;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for a <c>clip</c> stage (<see cref="StageTrainingSession"/> drives it): starts from rank 0's
/// weights (or the stage's <c>init</c> weights, or a checkpoint to resume), freezes the stage's <c>freeze</c> prefixes,
/// trains with the distributed ClipLoss and averaged gradients, and evaluates zero-shot and retrieval across the ranks.
/// Model, optimizer state, every tensor of a step and the evaluation live on <paramref name="device"/> (the worker's
/// <c>--device</c>); batches and collective payloads cross to and from it through the trainer's <see cref="HostStaging"/>
/// (page-locked host buffers on CUDA; nothing staged on the CPU); checkpoints and recovery transfers read CPU copies.
/// </summary>
public sealed class ClipTrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail, string device = DeviceChoice.Cpu)
    : StageTrainingSession(server, log, fail)
{
    private protected override Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct)
    {
        var (generation, config, group, log) = context;
        var modelConfig = ModelOverrides.Apply(ClipConfig.FromPreset(config.Preset), config.ModelOverrides);
        var decoder = ImageDecoder.For(modelConfig).Within(config.ReadLimits);
        var tokenizer = TextRowTokenizers.For(modelConfig, config.ReadLimits.MaxCaptionChars);
        LogPrecision(config, log);
        // Loaded at the first evaluation, not before the first step: a replacement joining after a failure starts training
        // (and its peers stop waiting for it) seconds sooner. Loaded again after a recovery that changed rank or world.
        var evalSlices = new EvaluationSlices(config, decoder, group);
        StageEvaluator? evaluator = null;
        EvaluationSet? evaluated = null;

        IReadOnlyDictionary<string, double> Evaluate(ClipModel model)
        {
            var slice = evalSlices.Current();
            if (!ReferenceEquals(slice, evaluated))
            {
                evaluator = new StageEvaluator(model, tokenizer, group, config, slice, log);
                evaluated = slice;
            }
            return evaluator!.Evaluate();
        }

        void LoadStartWeights(ClipModel model)
        {
            // Every rank reads the init weights (a shared run directory, as for resuming), so a mismatch fails every rank
            // with the same message; the broadcast then changes nothing.
            foreach (var loaded in WeightInitializer.Load(model, config.Init))
            {
                log($"initialised {loaded.Loaded} of {loaded.ModelTensors} tensors from {loaded.From} ({loaded.Path}); {loaded.Unused} unused");
            }
            if (config.Freeze.Count > 0)
            {
                log($"froze {FrozenParameters.Apply(model, config.Freeze)} parameters under {string.Join(", ", config.Freeze)}");
            }
        }

        var staging = StagingFor(device, log);
        var clip = new ClipModel(modelConfig);
        clip.to(staging.Device);   // before the optimizer exists: its AdamW state is created beside the parameters
        return Task.FromResult<IStageTrainer>(StageTrainer<ClipModel, TrainStep>.Build(context, clip, new StageRecipe<ClipModel, TrainStep>(
            new BatchBuilder(decoder, tokenizer, cropSeed: (ulong)config.Seed, randomShift: config.RandomShift),   // RGB presets: OpenCLIP's random-resized-crop
            LoadStartWeights,
            (model, averager) => new TrainStep(model, OptionsOf(config),
                new CollectiveFeatureGatherer(group, config.GlobalBatch(generation.WorldSize), staging), averager, staging),
            (model, _) => Evaluate(model),
            model => new StageCheckpointRecord(JsonSerializer.Serialize(model.Config), new Dictionary<string, string>()))
        {
            Staging = staging,
        }));
    }
}
