using MmCluster.Collectives.Ring;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for an <c>lm</c> stage: <see cref="CaptionLm"/>, the stand-in for BLIP-2's frozen LLM, trained on
/// the manifest's captions (next-token loss, averaged gradients) in the compact caption vocabulary; evaluated by its mean
/// loss and perplexity on this rank's slice of the test split's captions, summed over the ranks. Model, optimizer state,
/// steps and evaluation on <paramref name="device"/>, batches and gradient buckets staged (<see cref="HostStaging"/>).
/// </summary>
public sealed class LmTrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail, string device = DeviceChoice.Cpu)
    : StageTrainingSession(server, log, fail)
{
    /// <summary>Held-out captions per rank scored at each evaluation.</summary>
    private const int EvalCaptions = 2000;

    private protected override async Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct)
    {
        var config = context.Config;
        var inputs = await Blip2StageInputs.ResolveAsync(config, ct);
        var lmConfig = ModelOverrides.Apply(CaptionLmConfig.FromPreset(config.Preset), config.ModelOverrides) with { VocabSize = inputs.Vocabulary.Count };
        context.Log($"caption vocabulary: {inputs.Vocabulary.Count} ids");
        var decoder = ImageDecoder.FashionMnist.Within(config.ReadLimits);    // the lm reads no pixels; its batches carry small ones
        var tokenizer = new CaptionTokenizer(lmConfig.ContextLength, config.ReadLimits.MaxCaptionChars);
        var evalSlices = new EvaluationSlices(config, decoder, context.Group);
        // Over a manifest with conversations the language model learns to chat, text only: each row's conversation and
        // then its caption as a describe exchange, answers supervised (what the frozen LM of llava-align and plora needs).
        var chat = inputs.HasConversations ? new ConversationTemplate(lmConfig.ContextLength) : null;
        if (chat is not null)
        {
            context.Log($"the manifest has conversations: the language model learns them, text only ({chat.ContextLength} positions)");
        }
        var batches = new BatchBuilder(decoder, tokenizer, chat, ChatSource.ConversationsAndCaptions, noise: chat is null ? null : ChatStageRecipe.NoiseOf(context, inputs.Vocabulary));
        ClipBatch HeldOut() => chat is null
            ? CaptionStageRecipe.HeldOut(inputs, evalSlices.Current(), batches, EvalCaptions)
            : inputs.Vocabulary.Compact(evalSlices.Current().ChatBatch(EvalCaptions, decoder, chat, ChatSource.ConversationsAndCaptions));
        var staging = StagingFor(device, context.Log);
        var lm = new CaptionLm(lmConfig);
        lm.to(staging.Device);   // before the optimizer exists: its AdamW state is created beside the parameters
        return StageTrainer<CaptionLm, LmTrainStep>.Build(context, lm, CaptionStageRecipe.Create<CaptionLm, LmTrainStep>(
            context, inputs, batches,
            new Dictionary<string, (string From, string To)[]> { ["lm"] = [("", "")] },
            (model, averager) => new LmTrainStep(model, OptionsOf(config), averager, new GroupBatchLayout(context.Group, config.GlobalBatch(context.WorldSize)), staging),
            (_, step) => Evaluate(context, step, HeldOut()),
            _ => Blip2StageInputs.Record(inputs.Vocabulary, lm: lmConfig), staging));
    }

    private static IReadOnlyDictionary<string, double> Evaluate(StageContext context, LmTrainStep step, ClipBatch held)
    {
        var loss = held.Count == 0 ? 0f : step.Evaluate(held);
        var sums = SumOverRanks(context.Group, [loss * held.Count, held.Count]);
        if (sums[1] == 0)
        {
            return new Dictionary<string, double>();
        }
        var mean = sums[0] / sums[1];
        return new Dictionary<string, double> { ["loss"] = mean, ["perplexity"] = Math.Exp(mean), ["captions"] = sums[1] };
    }
}
