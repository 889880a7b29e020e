using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch.nn.functional;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// BLIP-2's image-text contrastive loss (LAVIS blip2_qformer.py, "Image-text Contrastive"): query features [b, Q, D] and
/// text [CLS] features [b, D] are all-gathered (here with gradient, in one collective, like <see cref="ClipLoss"/>);
/// the image-text similarity is the maximum over the Q queries, divided by the temperature; targets are this rank's
/// offset in the global batch + i (rank·b for an even split);
/// cross-entropy with LAVIS's label smoothing 0.1 in both directions, averaged.
/// </summary>
public static class Blip2ItcLoss
{
    /// <param name="queryFeatures">(b, Q, D) L2-normalized.</param>
    /// <param name="textFeatures">(b, D) L2-normalized.</param>
    /// <param name="temperature">Scalar parameter.</param>
    /// <returns>The loss, and the detached similarities image→text and text→image, each (b, B), for ITM's sampling.</returns>
    public static (Tensor Loss, Tensor ImageToText, Tensor TextToImage) Compute(
        Tensor queryFeatures, Tensor textFeatures, Tensor temperature, IFeatureGatherer gatherer, double labelSmoothing = 0.1)
    {
        var (b, q, d) = (queryFeatures.shape[0], queryFeatures.shape[1], queryFeatures.shape[2]);
        if (textFeatures.shape[0] != b || textFeatures.shape[1] != d)
        {
            throw new ArgumentException($"query features [{string.Join(", ", queryFeatures.shape)}] and text features [{string.Join(", ", textFeatures.shape)}] do not pair up");
        }
        using var flatQueries = queryFeatures.reshape(b, q * d);
        using var packed = cat([flatQueries, textFeatures], 1);                  // (b, (Q+1)·D)
        using var all = gatherer.AllGather(packed);                              // (B, (Q+1)·D)
        var n = all.shape[0];
        using var allQueriesFlat = all.narrow(1, 0, q * d);
        using var allQueries = allQueriesFlat.view(n, q, d);                     // (B, Q, D)
        using var allText = all.narrow(1, q * d, d);                             // (B, D)
        using var allTextT = allText.t();
        using var queryToText = queryFeatures.matmul(allTextT);                  // (b, Q, D) @ (D, B) -> (b, Q, B)
        using var imageToTextMax = queryToText.amax([1]);                         // (b, B)
        using var textT = textFeatures.t();
        using var textToQuery = allQueries.matmul(textT);                        // (B, Q, D) @ (D, b) -> (B, Q, b)
        using var textToImageMax = textToQuery.amax([1]);                         // (B, b)
        using var textToImageT = textToImageMax.t();                             // (b, B)
        using var imageToText = imageToTextMax / temperature;
        using var textToImage = textToImageT / temperature;
        using var rows = HeldScalars.Range(b, queryFeatures.device);
        using var labels = rows.Plus(gatherer.RowOffset(b));
        using var lossImage = cross_entropy(imageToText, labels, label_smoothing: labelSmoothing);
        using var lossText = cross_entropy(textToImage, labels, label_smoothing: labelSmoothing);
        using var sum = lossImage.Plus(lossText);
        return (sum.Over(2.0), imageToText.detach(), textToImage.detach());
    }
}
