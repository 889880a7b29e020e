using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>
/// ITM's positive weight: at 1 the loss is LAVIS's plain mean over b positives and 2b negatives; at 2 each positive row
/// counts twice, so positives and negatives weigh the same. It and the hard negatives' sharpness
/// (<see cref="HardNegativeSamplerSpecs"/>) are settable as <c>model.overrides</c>.
/// </summary>
public sealed class ItmSettingsSpecs
{
    // b = 1: rows (positive, negative, negative); per-row cross-entropy -log softmax(row)[label].
    private static readonly float[,] Logits = { { 0.2f, 1.0f }, { 0.5f, -0.3f }, { -1.0f, 0.7f } };

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void Should_weigh_each_positive_row_by_the_positive_weight_when_itm_loss_is_computed(double weight)
    {
        using var logits = tensor(Logits);
        var perRow = new[] { RowLoss(0, 1), RowLoss(1, 0), RowLoss(2, 0) };
        var expected = ((weight * perRow[0]) + perRow[1] + perRow[2]) / (weight + 2);

        using var loss = Blip2Stage1Loss.MatchingLoss(logits, 1, weight);

        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void Should_default_to_lavis_and_read_the_overrides_when_a_spec_sets_itm_positive_weight_and_negative_sharpness()
    {
        Assert.Equal(1.0, QFormerConfig.Tiny.ItmPositiveWeight);
        var config = ModelOverrides.Apply(QFormerConfig.Tiny, new Dictionary<string, string> { ["itm_positive_weight"] = "2" });
        Assert.Equal(2.0, config.ItmPositiveWeight);
        Assert.Throws<ArgumentException>(() => ModelOverrides.Apply(QFormerConfig.Tiny, new Dictionary<string, string> { ["itm_positive_weight"] = "0" }));
        Assert.Equal(1.0, QFormerConfig.Tiny.ItmNegativeSharpness);
        Assert.Equal(0.0, ModelOverrides.Apply(QFormerConfig.Tiny, new Dictionary<string, string> { ["itm_negative_sharpness"] = "0" }).ItmNegativeSharpness);
        Assert.Throws<ArgumentException>(() => ModelOverrides.Apply(QFormerConfig.Tiny, new Dictionary<string, string> { ["itm_negative_sharpness"] = "-1" }));
    }

    private static double RowLoss(int row, int label)
    {
        var (a, b) = (Logits[row, 0], Logits[row, 1]);
        var max = Math.Max(a, b);
        var logSum = max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
        return logSum - Logits[row, label];
    }
}
