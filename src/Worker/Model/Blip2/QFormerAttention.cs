using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// BERT's multi-head attention (LAVIS Qformer.py BertSelfAttention + BertSelfOutput, post-LN): separate <c>query</c>,
/// <c>key</c>, <c>value</c> projections so keys and values can come from the image (cross-attention, width of the image
/// features), an additive mask, then <c>dense</c>, the residual and <c>norm</c>.
/// </summary>
public sealed class QFormerAttention : nn.Module
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Linear dense;
    private readonly LayerNorm norm;
    private readonly long heads;

    public QFormerAttention(long width, long keyValueWidth, long heads) : base(nameof(QFormerAttention))
    {
        this.heads = heads;
        query = Linear(width, width);
        key = Linear(keyValueWidth, width);
        value = Linear(keyValueWidth, width);
        dense = Linear(width, width);
        norm = LayerNorm(width);
        RegisterComponents();
    }

    /// <param name="x">(B, L, W) the attending tokens (and the residual).</param>
    /// <param name="context">(B, S, Wkv) keys and values: x itself for self-attention, the image for cross-attention.</param>
    /// <param name="additiveMask">(B, 1, L, S) or null.</param>
    /// <returns>(B, L, W): norm(x + dense(attention)).</returns>
    public Tensor Forward(Tensor x, Tensor context, Tensor? additiveMask)
    {
        var (b, l, w) = (x.shape[0], x.shape[1], x.shape[2]);
        var s = context.shape[1];
        using var q0 = MixedPrecision.Linear(query, x);
        using var k0 = MixedPrecision.Linear(key, context);
        using var v0 = MixedPrecision.Linear(value, context);
        using var q1 = q0.view(b, l, heads, w / heads);
        using var k1 = k0.view(b, s, heads, w / heads);
        using var v1 = v0.view(b, s, heads, w / heads);
        using var q = q1.transpose(1, 2);                       // (B, nh, L, hs)
        using var k = k1.transpose(1, 2);                       // (B, nh, S, hs)
        using var v = v1.transpose(1, 2);
        using var y = MixedPrecision.Attention(q, k, v, additiveMask);   // (B, nh, L, hs)
        using var yt = y.transpose(1, 2);
        using var merged = yt.reshape(b, l, w);
        using var projected = MixedPrecision.Linear(dense, merged);
        using var residual = x.Plus(projected);
        return norm.forward(residual);
    }
}
