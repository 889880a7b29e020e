using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model;

/// <summary>
/// OpenAI CLIP's activation, x·sigmoid(1.702·x) (open_clip/layers.py QuickGELU): what OpenAI's released weights were
/// trained with, and so what OpenCLIP's <c>-quickgelu</c> configs use; OpenCLIP's own ViT-B configs use exact GELU.
/// </summary>
public sealed class QuickGelu : Module<Tensor, Tensor>
{
    private static readonly Scalar Slope = 1.702.ToScalar();

    public QuickGelu() : base(nameof(QuickGelu))
    {
    }

    public override Tensor forward(Tensor x)
    {
        using var scaled = x.mul(Slope);
        using var gate = scaled.sigmoid();
        return x.mul(gate);
    }
}
