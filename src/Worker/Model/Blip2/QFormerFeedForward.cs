using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>BERT's feed-forward (BertIntermediate + BertOutput, post-LN): norm(x + dense_out(gelu(dense_in(x)))).</summary>
public sealed class QFormerFeedForward : Module<Tensor, Tensor>
{
    private readonly Linear dense_in;
    private readonly GELU gelu;
    private readonly Linear dense_out;
    private readonly LayerNorm norm;

    public QFormerFeedForward(long width, long hidden) : base(nameof(QFormerFeedForward))
    {
        dense_in = Linear(width, hidden);
        gelu = GELU();
        dense_out = Linear(hidden, width);
        norm = LayerNorm(width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = MixedPrecision.Linear(dense_in, x);     // (B, L, W) -> (B, L, 4W)
        using var a = gelu.forward(h);
        using var o = MixedPrecision.Linear(dense_out, a);    // (B, L, 4W) -> (B, L, W)
        using var residual = x.Plus(o);
        return norm.forward(residual);
    }
}
