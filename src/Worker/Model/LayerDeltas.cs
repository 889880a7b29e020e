using static TorchSharp.torch;

namespace MmCluster.Worker.Model;

/// <summary>Applies optional <see cref="ILayerDeltas"/> to a linear layer's output, taking ownership of the output.</summary>
internal static class LayerDeltas
{
    /// <returns><paramref name="output"/> itself when <paramref name="deltas"/> is null (no extra work); else a fresh sum and <paramref name="output"/> is disposed.</returns>
    public static Tensor Apply(ILayerDeltas? deltas, int layer, LinearSite site, Tensor input, Tensor output)
    {
        if (deltas is null)
        {
            return output;
        }
        using (output)
        {
            return deltas.Add(layer, site, input, output);
        }
    }
}
