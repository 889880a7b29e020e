using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>Argument checks shared by the contrastive losses: a clear message beats a libtorch shape error deep in matmul.</summary>
internal static class LossShapes
{
    /// <summary>Image and text features must both be (b, D) with the same b and D.</summary>
    public static void RequirePairs(Tensor imageFeatures, Tensor textFeatures)
    {
        if (imageFeatures.dim() != 2 || textFeatures.dim() != 2 || !imageFeatures.shape.SequenceEqual(textFeatures.shape))
        {
            throw new ArgumentException(
                $"image and text features must both be (b, D), got [{string.Join(", ", imageFeatures.shape)}] and [{string.Join(", ", textFeatures.shape)}]");
        }
    }
}
