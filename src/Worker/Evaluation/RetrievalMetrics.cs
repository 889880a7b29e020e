using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Evaluation;

/// <summary>
/// Image-to-text and text-to-image recall@k on held-out pairs (row i of the images goes with row i of the texts), as
/// open_clip_train's get_clip_metrics: a query is a hit at k when fewer than k candidates score strictly higher than its
/// own pair. Pure: normalized feature tensors in, fractions out.
/// </summary>
public static class RetrievalMetrics
{
    public static RetrievalResult Compute(Tensor imageFeatures, Tensor textFeatures, IReadOnlyList<int> ks)
    {
        if (imageFeatures.shape[0] != textFeatures.shape[0])
        {
            throw new ArgumentException($"{imageFeatures.shape[0]} images but {textFeatures.shape[0]} texts: recall needs pairs");
        }
        using var _ = no_grad();
        using var textT = textFeatures.t();
        using var similarity = imageFeatures.matmul(textT);   // (N, D) @ (D, N) -> (N, N), [image, text]
        using var similarityT = similarity.t();
        return new RetrievalResult(RecallAt(similarity, ks), RecallAt(similarityT, ks));
    }

    /// <param name="scores">(N, N) query-by-candidate scores; the right candidate of query i is i.</param>
    public static IReadOnlyDictionary<int, double> RecallAt(Tensor scores, IReadOnlyList<int> ks)
    {
        using var diagonal = scores.diagonal();               // (N,)
        using var own = diagonal.unsqueeze(1);                // (N, 1)
        using var better = scores.gt(own);                    // (N, N): candidates strictly above the pair
        using var rank = better.sum(1);                       // (N,) 0-based rank of the pair
        var n = (double)scores.shape[0];
        var recalls = new Dictionary<int, double>();
        foreach (var k in ks)
        {
            using var hit = rank.Less(k);
            using var hits = hit.sum();
            recalls[k] = hits.item<long>() / n;
        }
        return recalls;
    }
}
