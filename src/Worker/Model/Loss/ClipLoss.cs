using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch.nn.functional;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// CLIP's symmetric InfoNCE in OpenCLIP's local-loss form with gather-with-gradient (open_clip/loss.py ClipLoss,
/// local_loss=True, gather_with_grad=True): this rank's b_r rows against all B gathered columns, labels offset by this
/// rank's first row in the global batch (rank·b for an even split). With the loss scaled by the rank's
/// <see cref="IBatchLayout.LossWeight"/> (1 for an even split) and parameter gradients averaged over ranks, the gradient
/// equals the one-process gradient on the global batch.
/// Image and text features travel in one all-gather (concatenated along D), halving the collectives per step.
/// </summary>
public static class ClipLoss
{
    public const double MaxLogitScale = 100.0;

    /// <summary>OpenCLIP's initial logit scale, log(1/0.07).</summary>
    public static readonly double InitLogitScale = Math.Log(1 / 0.07);

    /// <param name="imageFeatures">(b, D), L2-normalized.</param>
    /// <param name="textFeatures">(b, D), L2-normalized.</param>
    /// <param name="logitScale">Scalar parameter holding log(scale); the scale is exp(.) clamped at 100 (no gradient beyond).</param>
    public static Tensor Compute(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale, IFeatureGatherer gatherer)
    {
        LossShapes.RequirePairs(imageFeatures, textFeatures);
        var b = imageFeatures.shape[0];
        var d = imageFeatures.shape[1];
        using var both = cat([imageFeatures, textFeatures], 1);     // (b, 2D)
        using var all = gatherer.AllGather(both);                    // (B, 2D), rank order
        using var allImage = all.narrow(1, 0, d);                    // (B, D)
        using var allText = all.narrow(1, d, d);                     // (B, D)
        using var scale = logitScale.exp().ClampMax(MaxLogitScale);
        using var allTextT = allText.t();
        using var allImageT = allImage.t();
        using var simImage = imageFeatures.matmul(allTextT);         // (b, D) @ (D, B) -> (b, B)
        using var simText = textFeatures.matmul(allImageT);
        using var logitsPerImage = simImage * scale;
        using var logitsPerText = simText * scale;
        using var rows = HeldScalars.Range(b, imageFeatures.device);
        using var labels = rows.Plus(gatherer.RowOffset(b));             // this rank's rows sit at its offset in the gathered columns
        using var lossImage = cross_entropy(logitsPerImage, labels);
        using var lossText = cross_entropy(logitsPerText, labels);
        using var sum = lossImage.Plus(lossText);
        return sum.Over(2.0);
    }
}
