using MmCluster.Collectives.Ring;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for a <c>clip</c> stage (<see cref="StageTrainingSession"/> drives it): starts from rank 0's
/// weights (or the stage's <c>init</c> weights, or a checkpoint to resume), freezes the stage's <c>freeze</c> prefixes,
/// trains with the distributed ClipLoss and averaged gradients, and evaluates zero-shot and retrieval across the ranks.
/// </summary>
public sealed class ClipTrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail)
    : StageTrainingSession(server, log, fail)
{
    private protected override async Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct)
    {
        var (generation, config, group, log) = context;
        var modelConfig = ClipConfig.FromPreset(config.Preset);
        var model = new ClipModel(modelConfig);
        GradientAverager? averager = null;
        TrainStep? trainer = null;
        try
        {
            // Every rank reads the init weights (a shared run directory, as for resuming), so a mismatch fails every rank
            // with the same message; the broadcast below then changes nothing.
            foreach (var loaded in WeightInitializer.Load(model, config.Init))
            {
                log($"initialised {loaded.Loaded} of {loaded.ModelTensors} tensors from {loaded.From} ({loaded.Path}); {loaded.Unused} unused");
            }
            if (config.Freeze.Count > 0)
            {
                log($"froze {FrozenParameters.Apply(model, config.Freeze)} parameters under {string.Join(", ", config.Freeze)}");
            }
            ParameterBroadcast.FromRoot(group, model.state_dict().Values);
            averager = GradientAverager.ForStage(group, config.GradientWire, log);
            trainer = new TrainStep(model, OptionsOf(config), new CollectiveFeatureGatherer(group), averager);
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
            return new Trainer(model, averager, trainer, evaluator, new BatchBuilder(decoder, tokenizer), startEpoch);
        }
        catch
        {
            trainer?.Dispose();
            averager?.Dispose();
            model.Dispose();
            throw;
        }
    }

    private sealed class Trainer(
        ClipModel model, GradientAverager averager, TrainStep step, StageEvaluator evaluator, BatchBuilder batches, int startEpoch) : IStageTrainer
    {
        private double logitScale;
        private StepPhases phases = StepPhases.None;

        public long Step => step.Step;

        public int StartEpoch => startEpoch;

        public BatchBuilder Batches => batches;

        public StepMetrics StepMetrics => new(phases, logitScale);

        public StageStepResult Train(ClipBatch batch)
        {
            var result = step.Run(batch);
            logitScale = result.LogitScale;
            phases = result.Phases;
            return new StageStepResult(result.Step, result.Loss, result.LearningRate, result.GradNorm, new Dictionary<string, float>());
        }

        public IReadOnlyDictionary<string, double> Evaluate() => evaluator.Evaluate();

        public void Save(CheckpointStore store, CheckpointMetadata metadata) => store.Save(model, step, metadata);

        public void Dispose()
        {
            step.Dispose();
            averager.Dispose();
            model.Dispose();
        }
    }
}
