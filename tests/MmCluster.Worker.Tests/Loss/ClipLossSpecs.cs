using MmCluster.Worker.Model.Loss;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Loss;

public sealed class ClipLossSpecs
{
    // x = I, y = [[1, 0], [0.6, 0.8]], scale 1: per-image logits [[1, .6], [0, .8]], per-text logits [[1, 0], [.6, .8]].
    // Image CE: ln(1+e^-0.4), ln(1+e^-0.8); text CE: ln(1+e^-1), ln(1+e^-0.2); loss = mean of the four.
    private const double GoldenLoss = 0.4488791188118863;
    private const double GoldenLogitScaleGradient = -0.1918799931999171; // central difference of the formula above

    [Fact]
    public void Should_equal_hand_computed_value_when_two_pairs_at_scale_one()
    {
        using var scope = NewDisposeScope();
        var (image, text) = GoldenPair();
        var logitScale = tensor(0.0, dtype: ScalarType.Float64).requires_grad_();

        var loss = ClipLoss.Compute(image, text, logitScale, SingleRankGatherer.Instance);
        loss.backward();

        Assert.Equal(GoldenLoss, loss.item<double>(), 12);
        Assert.Equal(GoldenLogitScaleGradient, logitScale.grad!.item<double>(), 7);
    }

    [Fact]
    public void Should_clamp_scale_at_100_and_stop_its_gradient_when_logit_scale_exceeds_log_100()
    {
        using var scope = NewDisposeScope();
        var (image, text) = GoldenPair();
        var above = tensor(Math.Log(200), dtype: ScalarType.Float64).requires_grad_();
        var atLimit = tensor(Math.Log(100), dtype: ScalarType.Float64);
        var below = tensor(Math.Log(50), dtype: ScalarType.Float64).requires_grad_();

        var clamped = ClipLoss.Compute(image, text, above, SingleRankGatherer.Instance);
        var limit = ClipLoss.Compute(image, text, atLimit, SingleRankGatherer.Instance);
        var free = ClipLoss.Compute(image, text, below, SingleRankGatherer.Instance);
        clamped.backward();
        free.backward();

        Assert.Equal(limit.item<double>(), clamped.item<double>(), 12);
        Assert.Equal(0.0, above.grad!.item<double>());
        Assert.NotEqual(0.0, below.grad!.item<double>());
    }

    [Fact]
    public void Should_name_both_shapes_when_image_and_text_batches_differ()
    {
        using var scope = NewDisposeScope();
        var image = ones(3, 4);
        var text = ones(2, 4);
        var logitScale = tensor(0.0);

        var error = Assert.Throws<ArgumentException>(() => ClipLoss.Compute(image, text, logitScale, SingleRankGatherer.Instance));
        Assert.Contains("[3, 4] and [2, 4]", error.Message);
    }

    internal static (Tensor Image, Tensor Text) GoldenPair() =>
        (tensor(new[] { 1.0, 0.0, 0.0, 1.0 }, [2, 2]), tensor(new[] { 1.0, 0.0, 0.6, 0.8 }, [2, 2]));
}
