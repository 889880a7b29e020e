using System.Text.Json;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Training;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// What the recipes of the BLIP-2 schedule's stages (lm, blip2-stage1, blip2-stage2) share: start weights from the stage's
/// <c>init</c> sources by kind (<see cref="Blip2StageInputs.LoadInto"/>) and its frozen prefixes, batches in the compact
/// caption vocabulary, and checkpoints that record the vocabulary and model configs the next stages and
/// <c>mmcluster caption</c> rebuild the model from.
/// </summary>
internal static class CaptionStageRecipe
{
    /// <param name="mappings">Per source kind, the (source prefix, model prefix) pairs to load.</param>
    /// <param name="record">The vocabulary and model configs (<see cref="Blip2StageInputs.Record"/>).</param>
    /// <param name="staging">The worker's device staging (<see cref="StageTrainingSession.StagingFor"/>), where the model already is.</param>
    public static StageRecipe<TModel, TStep> Create<TModel, TStep>(
        StageContext context,
        Blip2StageInputs inputs,
        BatchBuilder batches,
        IReadOnlyDictionary<string, (string From, string To)[]> mappings,
        Func<TModel, GradientAverager, TStep> createStep,
        Func<TModel, TStep, IReadOnlyDictionary<string, double>> evaluate,
        Func<TModel, Dictionary<string, string>> record,
        HostStaging staging)
        where TModel : nn.Module
        where TStep : class, IStageStep
    {
        StageTrainingSession.LogPrecision(context.Config, context.Log);

        void LoadStartWeights(TModel model)
        {
            inputs.LoadInto(model, mappings, context.Log);
            var frozen = Blip2StageInputs.Freeze(model, context.Config.Freeze);
            if (frozen > 0)
            {
                context.Log($"froze {frozen} parameters under {string.Join(", ", context.Config.Freeze)}");
            }
        }

        StageCheckpointRecord Record(TModel model)
        {
            var metadata = record(model);
            return new StageCheckpointRecord(JsonSerializer.Serialize(metadata), metadata);
        }

        return new StageRecipe<TModel, TStep>(batches, LoadStartWeights, createStep, evaluate, Record)
        {
            Adapt = batch => inputs.Vocabulary.Compact(batch),
            Staging = staging,
        };
    }

    /// <summary>This rank's held-out rows in compact ids (at most <paramref name="count"/>).</summary>
    public static ClipBatch HeldOut(Blip2StageInputs inputs, EvaluationSet evalSet, BatchBuilder batches, int count) =>
        inputs.Vocabulary.Compact(evalSet.Batch(count, batches.Decoder, batches.Tokenizer));
}
