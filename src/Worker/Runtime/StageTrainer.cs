using MmCluster.Collectives;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Recovery;
using MmCluster.Worker.Training;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The trainer of every stage kind, as <see cref="StageTrainingSession"/> drives it: the model, the gradient averager over
/// the stage's group and the kind's step (<see cref="StageRecipe{TModel,TStep}"/>) with its <see cref="StageOptimizer"/>.
/// Only <see cref="Build"/> makes one, in the one right order, so a trainer never exists before its model, averager and
/// optimizer do. It owns the recipe's <see cref="StageRecipe{TModel,TStep}.Staging"/>, if any.
/// </summary>
internal sealed class StageTrainer<TModel, TStep> : IStageTrainer
    where TModel : nn.Module
    where TStep : class, IStageStep
{
    private readonly TModel model;
    private readonly GradientAverager averager;
    private readonly TStep step;
    private readonly StageRecipe<TModel, TStep> recipe;

    private StageTrainer(TModel model, GradientAverager averager, TStep step, StageRecipe<TModel, TStep> recipe, int startEpoch)
    {
        this.model = model;
        this.averager = averager;
        this.step = step;
        this.recipe = recipe;
        StartEpoch = startEpoch;
    }

    public long Step => step.Optimizer.Step;

    public int StartEpoch { get; }

    public BatchBuilder Batches => recipe.Batches;

    public StepMetrics StepMetrics { get; private set; } = StepMetrics.None;

    /// <summary>
    /// Takes <paramref name="model"/> (disposed if building fails): its start weights (the recipe's init weights and frozen
    /// prefixes), rank 0's weights on every rank, the averager, the kind's step, then the checkpoint to resume from, if any.
    /// With <see cref="StageContext.Joining"/> (a replacement joining a running stage) it skips rank 0's weights and the
    /// checkpoint and runs no collective: <see cref="TransferState"/> must follow, on every rank of the group.
    /// </summary>
    public static StageTrainer<TModel, TStep> Build(StageContext context, TModel model, StageRecipe<TModel, TStep> recipe)
    {
        GradientAverager? averager = null;
        TStep? step = null;
        try
        {
            recipe.LoadStartWeights(model);
            if (!context.Joining)
            {
                ParameterBroadcast.FromRoot(context.Group, model.state_dict().Values, staging: recipe.Staging);
            }
            averager = GradientAverager.ForStage(context.Group, context.Config.GradientWire, context.Log, context.Config.GradientOverlap, recipe.Staging);
            step = recipe.CreateStep(model, averager);
            var startEpoch = 0;
            if (context.Joining)
            {
                context.Log($"joining the running stage {context.Config.Stage}: the state transfer brings weights, optimizer and step");
            }
            else if (context.Config.ResumeFrom is { } resume)
            {
                var meta = CheckpointStore.Load(resume, model, step.Optimizer);
                startEpoch = ResumeEpochs.Of(meta.Step, meta.Epoch, context.Config.StepsPerEpoch);
                context.Log($"resumed from {resume} at step {meta.Step}, reading from epoch {startEpoch}");
            }
            return new StageTrainer<TModel, TStep>(model, averager, step, recipe, startEpoch);
        }
        catch
        {
            step?.Dispose();
            averager?.Dispose();
            recipe.Staging?.Dispose();
            model.Dispose();
            throw;
        }
    }

    public StageStepResult Train(ClipBatch batch)
    {
        var result = step.Run(recipe.Adapt(batch));
        StepMetrics = result.Metrics;
        return result;
    }

    public IReadOnlyDictionary<string, double> Evaluate() => recipe.Evaluate(model, step);

    public TrainingStateTransferResult TransferState(ICollectiveGroup group, int sourceRank)
    {
        // Every rank of the new generation (a replacement with a fresh averager too) starts the overlap over from one
        // non-overlapped step, so all of them bucket the gradients alike.
        averager.RestartOverlap();
        return TrainingStateTransfer.Broadcast(group, sourceRank, model, step.Optimizer);
    }

    public void Save(CheckpointStore store, CheckpointMetadata metadata)
    {
        var record = recipe.Record(model);
        var extra = new Dictionary<string, string>(metadata.Extra);
        foreach (var (key, value) in record.Extra)
        {
            extra[key] = value;
        }
        store.Save(model, step.Optimizer, metadata with { Extra = extra }, record.ModelConfig);
    }

    public void Dispose()
    {
        step.Dispose();
        averager.Dispose();
        recipe.Staging?.Dispose();
        model.Dispose();
    }
}
