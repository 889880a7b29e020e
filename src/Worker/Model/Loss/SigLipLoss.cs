using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch.nn.functional;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// SigLIP's pairwise sigmoid loss (Zhai et al. 2023; open_clip/loss.py SigLipLoss, dist_impl "shift"): every image-text
/// pair is an independent binary problem, -log σ(label · (scale · x·yᵀ + bias)), label +1 on the diagonal and -1 elsewhere.
/// No global softmax, so nothing is gathered: this rank's text block travels W-1 steps around the ring, and at each step
/// the local images score against the block that just arrived (all negatives). The exchange's backward sends gradients
/// back along the ring to the block's owner. Normalization as OpenCLIP: the sum over this rank's b·N pairs divided by b;
/// averaging parameter gradients over ranks then equals the one-process gradient of (sum over N² pairs) / N.
/// Memory grows with W because every received block stays in the graph (OpenCLIP #942).
/// </summary>
public static class SigLipLoss
{
    /// <summary>Initial log-scale: the scale starts at 10.</summary>
    public static readonly double InitLogitScale = Math.Log(10);

    public const double InitLogitBias = -10.0;

    /// <param name="imageFeatures">(b, D), L2-normalized.</param>
    /// <param name="textFeatures">(b, D), L2-normalized.</param>
    /// <param name="logitScale">Scalar parameter holding log(scale).</param>
    /// <param name="logitBias">Scalar parameter, the bias added to every logit.</param>
    public static Tensor Compute(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale, Tensor logitBias, IRingExchanger ring)
    {
        LossShapes.RequirePairs(imageFeatures, textFeatures);
        var b = imageFeatures.shape[0];
        using var scale = logitScale.exp();
        var total = PairLoss(imageFeatures, textFeatures, scale, logitBias, positives: true);
        var travelling = textFeatures.alias();
        try
        {
            for (var step = 1; step < ring.WorldSize; step++)
            {
                var arrived = ring.Exchange(travelling);                   // text block of rank r - step
                travelling.Dispose();
                travelling = arrived;
                using var negatives = PairLoss(imageFeatures, travelling, scale, logitBias, positives: false);
                var sum = total.Plus(negatives);
                total.Dispose();
                total = sum;
            }
        }
        finally
        {
            travelling.Dispose();
        }

        using (total)
        {
            return total.Over(b);
        }
    }

    /// <summary>Σ -log σ(label · logits) over the (b, b') block; labels are 2·I - 1 when the block holds the positives, else all -1.</summary>
    private static Tensor PairLoss(Tensor image, Tensor text, Tensor scale, Tensor bias, bool positives)
    {
        using var textT = text.t();
        using var sim = image.matmul(textT);                                // (b, D) @ (D, b') -> (b, b')
        using var scaled = sim * scale;
        using var logits = scaled.Plus(bias);
        using var signed = positives ? SignByLabel(logits) : logits.neg();
        using var logSigmoid = logsigmoid(signed);
        using var sum = logSigmoid.sum();
        return sum.neg();
    }

    private static Tensor SignByLabel(Tensor logits)
    {
        using var eye = torch.eye(logits.shape[0], logits.shape[1], dtype: logits.dtype, device: logits.device);
        using var twice = eye.Times(2.0);
        using var labels = twice.Minus(1.0);                                     // +1 on the diagonal, -1 elsewhere
        return logits * labels;
    }
}
