using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model;

/// <summary>The transformer block's feed-forward: c_fc, GELU (or QuickGELU), c_proj (OpenCLIP's <c>mlp</c> Sequential keys).</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear c_fc;
    private readonly Module<Tensor, Tensor> gelu;   // OpenCLIP's name; no parameters
    private readonly Linear c_proj;

    public Mlp(long width, long hidden, bool quickGelu = false) : base(nameof(Mlp))
    {
        c_fc = Linear(width, hidden);
        gelu = quickGelu ? new QuickGelu() : GELU();
        c_proj = Linear(hidden, width);
        RegisterComponents();
    }

    public void ResetParameters(double fcStd, double projStd)
    {
        using var _ = no_grad();
        init.normal_(c_fc.weight, 0, fcStd);
        init.zeros_(c_fc.bias!);
        init.normal_(c_proj.weight, 0, projStd);
        init.zeros_(c_proj.bias!);
    }

    public override Tensor forward(Tensor x)
    {
        using var h = MixedPrecision.Linear(c_fc, x);   // (B, T, W) -> (B, T, 4W)
        using var a = gelu.forward(h);
        return MixedPrecision.Linear(c_proj, a);        // (B, T, 4W) -> (B, T, W)
    }

    /// <summary>The pass with <paramref name="deltas"/> added to c_fc and c_proj (block <paramref name="layer"/>'s).</summary>
    public Tensor Forward(Tensor x, ILayerDeltas deltas, int layer)
    {
        using var fc = MixedPrecision.Linear(c_fc, x);
        using var h = deltas.Add(layer, LinearSite.MlpIn, x, fc);
        using var a = gelu.forward(h);
        using var projected = MixedPrecision.Linear(c_proj, a);
        return deltas.Add(layer, LinearSite.MlpOut, a, projected);
    }
}
