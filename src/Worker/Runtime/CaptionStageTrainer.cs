using System.Text.Json;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Training;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// What the trainers of the BLIP-2 schedule's stages (lm, blip2-stage1, blip2-stage2) share: the model and its
/// <see cref="StageOptimizer"/>, the gradient averager over the stage's group (trainable parameters only), batches in the
/// compact caption vocabulary, resuming, and checkpoints that record the vocabulary and model configs the next stages and
/// <c>mmcluster caption</c> rebuild the model from. Build order (<see cref="Prepare"/>): init weights, freeze, broadcast
/// rank 0's weights; then the kind builds its step with <see cref="Averager"/> and calls <see cref="Resume"/>.
/// </summary>
internal abstract class CaptionStageTrainer<TModel>(StageContext context, TModel model, Blip2StageInputs inputs, BatchBuilder batches, EvaluationSet evalSet)
    : IStageTrainer where TModel : nn.Module
{
    private GradientAverager? averager;

    public long Step => Optimizer.Step;

    public int StartEpoch { get; private set; }

    public BatchBuilder Batches => batches;

    public StepMetrics StepMetrics => StepMetrics.None;

    protected StageContext Context => context;

    protected TModel Model => model;

    protected CaptionVocabulary Vocabulary => inputs.Vocabulary;

    protected EvaluationSet EvalSet => evalSet;

    protected GradientAverager Averager => averager ??= GradientAverager.ForStage(context.Group, context.Config.GradientWire, context.Log);

    protected abstract StageOptimizer Optimizer { get; }

    /// <summary>The model configs recorded in each checkpoint (<see cref="Blip2StageInputs.Record"/>).</summary>
    protected abstract IReadOnlyDictionary<string, string> Record { get; }

    public StageStepResult Train(ClipBatch batch) => TrainCompact(Vocabulary.Compact(batch));

    protected abstract StageStepResult TrainCompact(ClipBatch batch);

    public abstract IReadOnlyDictionary<string, double> Evaluate();

    public void Save(CheckpointStore store, CheckpointMetadata metadata)
    {
        var extra = new Dictionary<string, string>(metadata.Extra);
        foreach (var (key, value) in Record)
        {
            extra[key] = value;
        }
        store.Save(model, Optimizer, metadata with { Extra = extra }, JsonSerializer.Serialize(Record));
    }

    /// <summary>Init weights by source kind, the spec's frozen prefixes, rank 0's weights on every rank.</summary>
    protected void Prepare(IReadOnlyDictionary<string, (string From, string To)[]> mappings)
    {
        inputs.LoadInto(model, mappings, context.Log);
        var frozen = Blip2StageInputs.Freeze(model, context.Config.Freeze);
        if (frozen > 0)
        {
            context.Log($"froze {frozen} parameters under {string.Join(", ", context.Config.Freeze)}");
        }
        ParameterBroadcast.FromRoot(context.Group, model.state_dict().Values);
    }

    /// <summary>Restores the stage's checkpoint to resume from, if any (after the step is built).</summary>
    protected void Resume()
    {
        if (context.Config.ResumeFrom is { } resume)
        {
            var meta = CheckpointStore.Load(resume, model, Optimizer);
            StartEpoch = meta.Epoch;
            context.Log($"resumed from {resume} at step {meta.Step}, epoch {meta.Epoch}");
        }
    }

    /// <summary>The held-out rows of this rank in compact ids (at most <paramref name="count"/>).</summary>
    protected ClipBatch HeldOut(int count) => Vocabulary.Compact(evalSet.Batch(count, batches.Decoder, batches.Tokenizer));

    /// <summary>Sums per-rank values over the group.</summary>
    protected float[] SumOverRanks(params float[] values) => StageTrainingSession.SumOverRanks(context.Group, values);

    protected abstract void DisposeStep();

    public void Dispose()
    {
        DisposeStep();
        averager?.Dispose();
        model.Dispose();
    }
}
