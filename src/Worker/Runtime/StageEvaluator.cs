using MmCluster.Collectives;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model;
using MmCluster.Worker.Training;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Evaluates CLIP across the ranks: each rank scores its slice of the test split, and the counts are all-reduced, so
/// zero-shot top-1 is over the whole split. Retrieval recall@1/5 uses the first held-out pairs of each rank's slice,
/// averaged over ranks (every rank holds the same number of pairs). Zero-shot is reported only when every rank could score
/// its whole slice (every row labelled within the class list); when this rank cannot, it logs why once, naming the row.
/// </summary>
internal sealed class StageEvaluator(ClipModel model, ITextRowTokenizer tokenizer, ICollectiveGroup group, StageConfig config, EvaluationSet data, Action<string> log)
{
    private readonly ClipEvaluator evaluator = new(model, tokenizer);
    private bool _explained;

    public IReadOnlyDictionary<string, double> Evaluate()
    {
        var metrics = new Dictionary<string, double>();
        using var images = evaluator.EncodeImages(data.Pixels, data.Count);
        var templates = config.ZeroShotTemplates;
        // Per rank: [correct, images, i2t@1, i2t@5, t2i@1, t2i@5, ranks that could not score], summed over ranks.
        var sums = new float[7];
        // Zero-shot needs every image's class: a manifest without labels (img2dataset's) is scored by retrieval only.
        if (templates.Count > 0 && data.Count > 0)
        {
            if (ZeroShotLabels.WhyNotScored(data.Labels, data.Keys, config.ClassNames) is { } why)
            {
                sums[6] = 1;
                if (!_explained)
                {
                    log($"zero-shot not scored: {why}");
                    _explained = true;
                }
            }
            else
            {
                var top1 = evaluator.ZeroShotTop1(images, data.Labels, config.ClassNames, templates);
                sums[0] = (float)Math.Round(top1 * data.Count);
                sums[1] = data.Count;
            }
        }
        var pairs = Math.Min(data.Count, Math.Max(1, config.RetrievalHeldOut / group.WorldSize));
        if (pairs > 1)
        {
            using var slice = images.narrow(0, 0, pairs);
            using var texts = evaluator.EncodeTexts(data.Captions.Take(pairs).ToList());
            var recall = RetrievalMetrics.Compute(slice, texts, [1, 5]);
            sums[2] = (float)recall.ImageToText[1];
            sums[3] = (float)recall.ImageToText[5];
            sums[4] = (float)recall.TextToImage[1];
            sums[5] = (float)recall.TextToImage[5];
        }
        StageTrainingSession.SumOverRanks(group, sums);
        // A top-1 over only the ranks that could score would not be the held-out set's: report none.
        if (sums[1] > 0 && sums[6] == 0)
        {
            metrics["zero_shot_top1"] = sums[0] / sums[1];
            metrics["zero_shot_images"] = sums[1];
        }
        if (pairs > 1)
        {
            metrics["i2t_r1"] = sums[2] / group.WorldSize;
            metrics["i2t_r5"] = sums[3] / group.WorldSize;
            metrics["t2i_r1"] = sums[4] / group.WorldSize;
            metrics["t2i_r5"] = sums[5] / group.WorldSize;
        }
        return metrics;
    }
}
