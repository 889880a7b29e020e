using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Torch;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// Scales a rank's loss by its <see cref="IBatchLayout.LossWeight"/> before backward (docs/exactness.md, "Uneven splits"),
/// so the gradient that crosses ranks through the gather's reduce-scatter carries the weight too. An even split has
/// weight exactly 1 and gets the loss itself back: that path stays bit-identical to the one before elastic batches.
/// </summary>
internal static class LossWeighting
{
    /// <summary>The tensor to call backward on: <paramref name="loss"/>, or <paramref name="loss"/> · w_r (in the caller's dispose scope).</summary>
    public static Tensor Weigh(Tensor loss, IBatchLayout layout, long localRows)
    {
        var weight = layout.LossWeight(localRows);
        return weight == 1.0 ? loss : loss.Times(weight);
    }
}
