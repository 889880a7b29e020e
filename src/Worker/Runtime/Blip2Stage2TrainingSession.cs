using MmCluster.Collectives.Ring;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for a <c>blip2-stage2</c> stage: the image encoder and Q-Former from the blip2-stage1 checkpoint,
/// the language model from the lm checkpoint; the encoder, the LM and the Q-Former's text-only parts frozen (no gradient,
/// not all-reduced); the Q-Former's query path and the projection to the LM trained on the LM's caption loss. Evaluated by
/// greedy captions of this rank's slice of the test images, and the rate at which a caption names the image's class
/// (<c>names_class</c>), summed over the ranks. Model (frozen parts included), optimizer state, steps and captioning on
/// <paramref name="device"/>; batches and gradient buckets staged (<see cref="HostStaging"/>).
/// </summary>
public sealed class Blip2Stage2TrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail, string device = DeviceChoice.Cpu)
    : StageTrainingSession(server, log, fail)
{
    private protected override async Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct)
    {
        var config = context.Config;
        var inputs = await Blip2StageInputs.ResolveAsync(config, ct);
        var vision = inputs.VisionConfig(config);
        var qformer = inputs.RecordedQFormer()
            ?? throw new InvalidDataException($"stage '{config.Stage}' (blip2-stage2) needs a blip2-stage1 checkpoint in init.from for its Q-Former");
        var lm = inputs.RecordedLm()
            ?? throw new InvalidDataException($"stage '{config.Stage}' (blip2-stage2) needs an lm checkpoint in init.from for its language model");
        var decoder = ImageDecoder.For(vision).Within(config.ReadLimits);
        var evalSlices = new EvaluationSlices(config, decoder, context.Group);
        var tokenizer = new CaptionTokenizer(lm.ContextLength, config.ReadLimits.MaxCaptionChars);
        var batches = new BatchBuilder(decoder, tokenizer, cropSeed: (ulong)config.Seed);   // RGB: OpenCLIP's random-resized-crop
        var staging = StagingFor(device, context.Log);
        var stage2 = new Blip2Stage2Model(vision, qformer, lm);
        stage2.to(staging.Device);   // before the optimizer exists: its AdamW state is created beside the parameters
        return StageTrainer<Blip2Stage2Model, Blip2Stage2Step>.Build(context, stage2, CaptionStageRecipe.Create<Blip2Stage2Model, Blip2Stage2Step>(
            context, inputs, batches,
            new Dictionary<string, (string From, string To)[]>
            {
                ["clip"] = [("visual.", Blip2Base.VisualEncoder + ".")],
                ["blip2-stage1"] = [.. new[] { Blip2Base.VisualEncoder + ".", Blip2Base.VisionNorm + ".", Blip2Base.QFormerModule + "." }.Select(p => (p, p))],
                ["lm"] = [("", Blip2Stage2Model.LanguageModelModule + ".")],
                ["blip2-stage2"] = [("", "")],
            },
            (model, averager) => new Blip2Stage2Step(model, OptionsOf(config), averager, layout: new GroupBatchLayout(context.Group, config.GlobalBatch(context.WorldSize)), staging: staging),
            (model, _) => Evaluate(context, model, CaptionStageRecipe.HeldOut(inputs, evalSlices.Current(), batches, int.MaxValue), tokenizer, inputs.Vocabulary),
            model => Blip2StageInputs.Record(inputs.Vocabulary, vision: model.VisionConfig, qformer: model.QFormer.Config, lm: model.LanguageModel.Config), staging));
    }

    private static IReadOnlyDictionary<string, double> Evaluate(
        StageContext context, Blip2Stage2Model model, ClipBatch images, CaptionTokenizer tokenizer, CaptionVocabulary vocabulary)
    {
        var classes = context.Config.ClassNames;
        var scored = images.Count > 0 && images.Labels.Length == images.Count && classes.Count > 0 && images.Labels.All(l => l < classes.Count);
        var result = scored ? Blip2Evaluator.Captions(model, images, classes, tokenizer, vocabulary) : null;
        if (result is not null)
        {
            context.Log($"captions: {string.Join(" | ", result.Captions.Take(4).Select((c, i) => $"{classes[images.Labels[i]]}: {c}"))}");
        }
        var sums = SumOverRanks(context.Group, [(float)Math.Round((result?.NamesRightClassRate ?? 0) * (result?.Images ?? 0)), result?.Images ?? 0]);
        return sums[1] == 0
            ? new Dictionary<string, double>()
            : new Dictionary<string, double> { ["names_class"] = sums[0] / sums[1], ["caption_images"] = sums[1] };
    }
}
