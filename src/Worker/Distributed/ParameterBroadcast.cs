using MmCluster.Collectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// Makes every rank start from rank 0's weights: each parameter and buffer (float32, contiguous CPU) is broadcast in
/// place from the root, in state_dict order (the same on every rank). On a CUDA device (or with staging forced) each
/// tensor goes through one host buffer of the <see cref="HostStaging"/> (reused from tensor to tensor, freed at the end):
/// device -> host, broadcast, host -> device.
/// </summary>
public static class ParameterBroadcast
{
    public static void FromRoot(ICollectiveGroup group, IEnumerable<Tensor> tensors, int root = 0, HostStaging? staging = null)
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
            if (staging is { Stages: true })
            {
                staging.InPlace(t, "broadcast", buffer => group.BroadcastAsync(buffer, root));
                continue;
            }
            using var flat = TensorMemory.ContiguousFloat32(t);
            TensorCollectives.Wait(() => group.BroadcastAsync(TensorMemory.Of(flat), root));
            using var shaped = flat.view(t.shape);
            t.copy_(shaped);   // a no-op when flat shares t's storage
        }
        staging?.Release("broadcast");
    }
}
