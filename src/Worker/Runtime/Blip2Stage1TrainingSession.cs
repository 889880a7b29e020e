using MmCluster.Collectives.Ring;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for a <c>blip2-stage1</c> stage: the image encoder from the clip stage's checkpoint (frozen: no
/// gradient, not all-reduced), the Q-Former trained with ITC + ITM + ITG distributed over the gRPC collectives (features
/// gathered with gradient, hard negatives from the global batch), each loss reported as <c>loss.itc</c>, <c>loss.itm</c>,
/// <c>loss.itg</c>; evaluated by image-text recall@1 both ways and ITM accuracy on each rank's held-out pairs, averaged
/// over the ranks.
/// </summary>
public sealed class Blip2Stage1TrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail)
    : StageTrainingSession(server, log, fail)
{
    private protected override async Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct)
    {
        var config = context.Config;
        var inputs = await Blip2StageInputs.ResolveAsync(config, ct);
        var vision = inputs.VisionConfig(config);
        var qformer = Blip2ModelOverrides.Apply(QFormerConfig.FromPreset(config.Preset), config.ModelOverrides) with { TextVocabSize = inputs.Vocabulary.Count };
        var decoder = DecoderFor(vision);
        var evalSet = await EvaluationSet.LoadAsync(config.ManifestPath, config.TestSplit, decoder, context.Rank, context.WorldSize, ct);
        var batches = new BatchBuilder(decoder, new CaptionTokenizer(qformer.ContextLength));
        return Owning(new Blip2Stage1Model(vision, qformer), model => new Trainer(context, model, inputs, batches, evalSet));
    }

    /// <summary>The image decoder of an image encoder (Fashion-MNIST's grey 28x28, or CLIP's RGB).</summary>
    internal static ImageDecoder DecoderFor(ClipConfig vision) =>
        vision is { ImageChannels: 1, ImageSize: 28 } ? ImageDecoder.FashionMnist : ImageDecoder.ClipRgb(vision.ImageSize);

    private sealed class Trainer : CaptionStageTrainer<Blip2Stage1Model>
    {
        private readonly Blip2Stage1Step step;

        public Trainer(StageContext context, Blip2Stage1Model model, Blip2StageInputs inputs, BatchBuilder batches, EvaluationSet evalSet)
            : base(context, model, inputs, batches, evalSet)
        {
            Prepare(new Dictionary<string, (string From, string To)[]>
            {
                ["clip"] = [("visual.", Blip2Base.VisualEncoder + ".")],
                ["blip2-stage1"] = [("", "")],
            });
            step = new Blip2Stage1Step(model, StageTrainingSession.OptionsOf(context.Config), new CollectiveFeatureGatherer(context.Group), Averager, context.Config.Seed);
            Resume();
        }

        protected override StageOptimizer Optimizer => step.Optimizer;

        protected override IReadOnlyDictionary<string, string> Record =>
            Blip2StageInputs.Record(Vocabulary, vision: Model.VisionConfig, qformer: Model.QFormer.Config);

        protected override StageStepResult TrainCompact(ClipBatch batch) => step.Run(batch);

        public override IReadOnlyDictionary<string, double> Evaluate()
        {
            var config = Context.Config;
            var pairs = HeldOut(Math.Max(2, config.RetrievalHeldOut / Context.WorldSize));
            var distinct = pairs.Labels.Length == pairs.Count ? pairs.Labels.Distinct().Count() : pairs.Count;
            var scored = pairs.Count >= 2 && distinct >= 2;
            var result = scored ? Blip2Evaluator.Retrieval(Model, pairs) : null;
            var sums = SumOverRanks(
                scored ? 1 : 0, (float)(result?.ImageToTextRecallAt1 ?? 0), (float)(result?.TextToImageRecallAt1 ?? 0), (float)(result?.ItmAccuracy ?? 0), result?.Pairs ?? 0);
            if (sums[0] == 0)
            {
                return new Dictionary<string, double>();
            }
            return new Dictionary<string, double>
            {
                ["i2t_r1"] = sums[1] / sums[0],
                ["t2i_r1"] = sums[2] / sums[0],
                ["itm_accuracy"] = sums[3] / sums[0],
                ["pairs"] = sums[4],
            };
        }

        protected override void DisposeStep() => step.Dispose();
    }
}
