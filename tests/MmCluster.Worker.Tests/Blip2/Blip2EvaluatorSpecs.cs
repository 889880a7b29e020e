using MmCluster.Worker.Evaluation;
using Xunit;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>
/// Stage 1's ITM evaluation: as many positives (each image with its own caption) as negatives (with the caption of the next
/// image of another class), the accuracy the mean of the two halves, and every decision in the class-pair split.
/// </summary>
public sealed class Blip2EvaluatorSpecs
{
    [Fact]
    public void Should_split_itm_decisions_into_balanced_positives_and_negatives_of_other_classes()
    {
        using var model = Blip2Fixtures.NewStage1();
        var pairs = Blip2Fixtures.Batch(12);   // labels i mod 3

        var result = Blip2Evaluator.Retrieval(model, pairs, batchSize: 5);

        var positives = result.ItmByClassPair.Where(p => p.ImageClass == p.CaptionClass).ToArray();
        var negatives = result.ItmByClassPair.Where(p => p.ImageClass != p.CaptionClass).ToArray();
        Assert.Equal(12, positives.Sum(p => p.Pairs));
        Assert.Equal(12, negatives.Sum(p => p.Pairs));
        Assert.Equal([0, 1, 2], positives.Select(p => p.ImageClass));
        Assert.All(negatives, p => Assert.Equal((p.ImageClass + 1) % 3, p.CaptionClass));   // the next image's class
        Assert.Equal(1 - (positives.Sum(p => p.Wrong) / 12.0), result.ItmPositiveAccuracy, 6);
        Assert.Equal(1 - (negatives.Sum(p => p.Wrong) / 12.0), result.ItmNegativeAccuracy, 6);
        Assert.Equal((result.ItmPositiveAccuracy + result.ItmNegativeAccuracy) / 2, result.ItmAccuracy, 6);
    }
}
