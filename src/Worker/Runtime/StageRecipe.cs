using MmCluster.Worker.Training;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// What makes one stage kind, as <see cref="StageTrainer{TModel,TStep}.Build"/> takes it: its batches, how its start
/// weights come in (init weights, frozen prefixes), its step over the shared <see cref="StageOptimizer"/>, its held-out
/// evaluation and what its checkpoints record. Each part gets only what exists by then (the step its averager, the
/// evaluation the built step), so no kind can use a part before it is built.
/// </summary>
/// <param name="LoadStartWeights">Loads the init weights and freezes the stage's prefixes, before rank 0's weights are broadcast.</param>
/// <param name="CreateStep">The kind's step on the prepared model and the stage's gradient averager.</param>
/// <param name="Evaluate">The held-out evaluation; a collective call (every rank calls it at the same step).</param>
/// <param name="Record">Per checkpoint: the <c>model_config</c> metadata and extra metadata to store with it.</param>
internal sealed record StageRecipe<TModel, TStep>(
    BatchBuilder Batches,
    Action<TModel> LoadStartWeights,
    Func<TModel, Distributed.GradientAverager, TStep> CreateStep,
    Func<TModel, TStep, IReadOnlyDictionary<string, double>> Evaluate,
    Func<TModel, StageCheckpointRecord> Record)
    where TModel : nn.Module
    where TStep : class, IStageStep
{
    /// <summary>Turns a feed batch into the step's (the BLIP-2 schedule's compact caption ids); the batch itself by default.</summary>
    public Func<ClipBatch, ClipBatch> Adapt { get; init; } = batch => batch;

    /// <summary>
    /// The device staging of the kind (every kind trains on its model's device): the trainer broadcasts rank 0's weights and
    /// averages gradients through it, and owns it from <see cref="StageTrainer{TModel,TStep}.Build"/> on. Null: the CPU, unstaged.
    /// </summary>
    public Distributed.HostStaging? Staging { get; init; }
}

/// <summary>What a stage's checkpoint records of its model: the <c>model_config</c> metadata and extra metadata.</summary>
internal sealed record StageCheckpointRecord(string ModelConfig, IReadOnlyDictionary<string, string> Extra);
