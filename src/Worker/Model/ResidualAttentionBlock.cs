using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model;

/// <summary>Pre-LN transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)) (open_clip/transformer.py).</summary>
public sealed class ResidualAttentionBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1;
    private readonly Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Mlp mlp;

    public ResidualAttentionBlock(long width, long heads, long mlpWidth, bool causal, bool quickGelu = false) : base(nameof(ResidualAttentionBlock))
    {
        ln_1 = LayerNorm(width);
        attn = new Attention(width, heads, causal);
        ln_2 = LayerNorm(width);
        mlp = new Mlp(width, mlpWidth, quickGelu);
        RegisterComponents();
    }

    public void ResetParameters(double attnStd, double projStd, double fcStd)
    {
        attn.ResetParameters(attnStd, projStd);
        mlp.ResetParameters(fcStd, projStd);
    }

    public override Tensor forward(Tensor input) => Forward(input, null, 0);

    /// <summary>The block's pass; with a <paramref name="cache"/>, its attention extends layer <paramref name="layer"/>'s keys and values.</summary>
    public Tensor Forward(Tensor input, KeyValueCache? cache, int layer) => Forward(input, cache, layer, null);

    /// <summary>The pass with <paramref name="deltas"/> (null: none) added to the attention's and feed-forward's linear layers.</summary>
    public Tensor Forward(Tensor input, KeyValueCache? cache, int layer, ILayerDeltas? deltas)
    {
        using var x = GradientReady.Enter(input, this);   // backward leaving here: this block's gradients are final
        using var n1 = ln_1.forward(x);
        using var a = attn.Forward(n1, cache, layer, deltas);
        using var h = x.Plus(a);
        using var n2 = ln_2.forward(h);
        using var m = deltas is null ? mlp.forward(n2) : mlp.Forward(n2, deltas, layer);
        return h.Plus(m);
    }
}
