using static TorchSharp.torch;

namespace MmCluster.Worker.Model;

/// <summary>
/// Additions to the outputs of a transformer block's linear layers for one pass: Partial LoRA (InternLM-XComposer2,
/// arXiv:2401.16420) adds low-rank deltas at image-token positions only (<see cref="Lm.PartialLora"/>). A pass without
/// deltas passes null and runs exactly the code it ran before.
/// </summary>
public interface ILayerDeltas
{
    /// <summary>
    /// The output <paramref name="output"/> = W·<paramref name="input"/> + b of layer <paramref name="layer"/>'s linear
    /// <paramref name="site"/> plus its delta: a fresh tensor; the caller disposes both arguments.
    /// </summary>
    /// <param name="input">(B, L, in).</param>
    /// <param name="output">(B, L, out).</param>
    Tensor Add(int layer, LinearSite site, Tensor input, Tensor output);
}
