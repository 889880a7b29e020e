using MmCluster.Worker.Model.Loss;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Loss;

public sealed class SigLipLossSpecs
{
    // Same pair as ClipLossSpecs, scale 10, bias -10: logits [[0, -4], [-10, -2]], labels [[1, -1], [-1, 1]].
    // loss = (ln(1+e^0) + ln(1+e^-4) + ln(1+e^-10) + ln(1+e^2)) / b, b = 2. Gradients by central differences.
    private const double GoldenLoss = 1.419135259209971;
    private const double GoldenLogitScaleGradient = -5.969229682878385;
    private const double GoldenLogitBiasGradient = -0.6813827345686363;

    [Fact]
    public void Should_equal_hand_computed_value_when_two_pairs_at_initial_scale_and_bias()
    {
        using var scope = NewDisposeScope();
        var (image, text) = ClipLossSpecs.GoldenPair();
        var logitScale = tensor(SigLipLoss.InitLogitScale, dtype: ScalarType.Float64).requires_grad_();
        var logitBias = tensor(SigLipLoss.InitLogitBias, dtype: ScalarType.Float64).requires_grad_();

        var loss = SigLipLoss.Compute(image, text, logitScale, logitBias, SingleRankRingExchanger.Instance);
        loss.backward();

        Assert.Equal(GoldenLoss, loss.item<double>(), 12);
        Assert.Equal(GoldenLogitScaleGradient, logitScale.grad!.item<double>(), 6);
        Assert.Equal(GoldenLogitBiasGradient, logitBias.grad!.item<double>(), 6);
    }

    [Fact]
    public void Should_start_at_scale_10_and_bias_minus_10_when_initialized_as_openclip()
    {
        Assert.Equal(10.0, Math.Exp(SigLipLoss.InitLogitScale), 12);
        Assert.Equal(-10.0, SigLipLoss.InitLogitBias);
    }
}
