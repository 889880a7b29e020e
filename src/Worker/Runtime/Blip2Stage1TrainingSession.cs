using MmCluster.Collectives.Ring;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for a <c>blip2-stage1</c> stage: the image encoder from the clip stage's checkpoint (frozen: no
/// gradient, not all-reduced), the Q-Former trained with ITC + ITM + ITG distributed over the gRPC collectives (features
/// gathered with gradient, hard negatives from the global batch), each loss reported as <c>loss.itc</c>, <c>loss.itm</c>,
/// <c>loss.itg</c>; evaluated by image-text recall@1 both ways and ITM accuracy on each rank's held-out pairs, averaged
/// over the ranks. Model (the frozen encoder included), optimizer state, steps and evaluation on <paramref name="device"/>;
/// batches, gathered features and gradient buckets staged (<see cref="HostStaging"/>).
/// </summary>
public sealed class Blip2Stage1TrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail, string device = DeviceChoice.Cpu)
    : StageTrainingSession(server, log, fail)
{
    private protected override async Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct)
    {
        var config = context.Config;
        var inputs = await Blip2StageInputs.ResolveAsync(config, ct);
        var vision = inputs.VisionConfig(config);
        var qformer = ModelOverrides.Apply(QFormerConfig.FromPreset(config.Preset), config.ModelOverrides) with { TextVocabSize = inputs.Vocabulary.Count };
        var decoder = ImageDecoder.For(vision).Within(config.ReadLimits);
        var evalSlices = new EvaluationSlices(config, decoder, context.Group);
        var batches = new BatchBuilder(decoder, new CaptionTokenizer(qformer.ContextLength, config.ReadLimits.MaxCaptionChars), cropSeed: (ulong)config.Seed);   // RGB: OpenCLIP's random-resized-crop
        var staging = StagingFor(device, context.Log);
        var stage1 = new Blip2Stage1Model(vision, qformer);
        stage1.to(staging.Device);   // before the optimizer exists: its AdamW state is created beside the parameters
        return StageTrainer<Blip2Stage1Model, Blip2Stage1Step>.Build(context, stage1, CaptionStageRecipe.Create<Blip2Stage1Model, Blip2Stage1Step>(
            context, inputs, batches,
            new Dictionary<string, (string From, string To)[]>
            {
                ["clip"] = [("visual.", Blip2Base.VisualEncoder + ".")],
                ["blip2-stage1"] = [("", "")],
            },
            (model, averager) => new Blip2Stage1Step(model, OptionsOf(config),
                new CollectiveFeatureGatherer(context.Group, config.GlobalBatch(context.WorldSize), staging), averager, config.Seed, staging),
            (model, _) => Evaluate(context, model, CaptionStageRecipe.HeldOut(inputs, evalSlices.Current(), batches, Math.Max(2, config.RetrievalHeldOut / context.Group.WorldSize))),
            model => Blip2StageInputs.Record(inputs.Vocabulary, vision: model.VisionConfig, qformer: model.QFormer.Config), staging));
    }

    private static IReadOnlyDictionary<string, double> Evaluate(StageContext context, Blip2Stage1Model model, ClipBatch pairs)
    {
        var distinct = pairs.Labels.Length == pairs.Count ? pairs.Labels.Distinct().Count() : pairs.Count;
        var scored = pairs.Count >= 2 && distinct >= 2;
        var result = scored ? Blip2Evaluator.Retrieval(model, pairs) : null;
        var classes = context.Config.ClassNames;
        var sums = SumOverRanks(context.Group,
        [
            scored ? 1 : 0, (float)(result?.ImageToTextRecallAt1 ?? 0), (float)(result?.TextToImageRecallAt1 ?? 0), (float)(result?.ItmAccuracy ?? 0),
            result?.Pairs ?? 0, (float)(result?.ItmPositiveAccuracy ?? 0), (float)(result?.ItmNegativeAccuracy ?? 0),
            .. WrongByClassPair(result, classes.Count),
        ]);
        if (sums[0] == 0)
        {
            return new Dictionary<string, double>();
        }
        var metrics = new Dictionary<string, double>
        {
            ["i2t_r1"] = sums[1] / sums[0],
            ["t2i_r1"] = sums[2] / sums[0],
            ["itm_accuracy"] = sums[3] / sums[0],
            ["pairs"] = sums[4],
            ["itm_positive_accuracy"] = sums[5] / sums[0],
            ["itm_negative_accuracy"] = sums[6] / sums[0],
        };
        for (var k = 0; k < classes.Count * classes.Count; k++)
        {
            if (sums[FixedMetrics + k] > 0)
            {
                metrics[$"itm_wrong.{classes[k / classes.Count]}|{classes[k % classes.Count]}"] = sums[FixedMetrics + k];
            }
        }
        return metrics;
    }

    private const int FixedMetrics = 7;

    /// <summary>
    /// Wrong ITM decisions by image class (row) and caption class (column), flattened: on the diagonal the positives
    /// rejected, elsewhere the negatives accepted. Reported as <c>itm_wrong.IMAGE|CAPTION</c> counts, summed over the ranks.
    /// </summary>
    private static float[] WrongByClassPair(Blip2RetrievalResult? result, int classes)
    {
        var wrong = new float[classes * classes];
        foreach (var pair in result?.ItmByClassPair ?? [])
        {
            if (pair.ImageClass < classes && pair.CaptionClass < classes)
            {
                wrong[pair.ImageClass * classes + pair.CaptionClass] += pair.Wrong;
            }
        }
        return wrong;
    }
}
