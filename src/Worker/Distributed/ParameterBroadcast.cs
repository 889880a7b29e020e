using MmCluster.Collectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// Makes every rank start from rank 0's weights: each parameter and buffer (float32, contiguous CPU) is broadcast in
/// place from the root, in state_dict order (the same on every rank).
/// </summary>
public static class ParameterBroadcast
{
    public static void FromRoot(ICollectiveGroup group, IEnumerable<Tensor> tensors, int root = 0)
    {
        if (group.WorldSize == 1)
        {
            return;
        }
        using var noGrad = no_grad();
        foreach (var t in tensors)
        {
            if (t.dtype != ScalarType.Float32)
            {
                continue;
            }
            using var flat = TensorMemory.ContiguousFloat32(t);
            TensorCollectives.Wait(() => group.BroadcastAsync(TensorMemory.Of(flat), root));
            using var shaped = flat.view(t.shape);
            t.copy_(shaped);   // a no-op when flat shares t's storage
        }
    }
}
