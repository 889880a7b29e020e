using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model;

/// <summary>
/// Multi-head self-attention with PyTorch nn.MultiheadAttention's parameter names (<c>in_proj_weight</c>,
/// <c>in_proj_bias</c>, <c>out_proj</c>), so state_dict keys match OpenCLIP; the kernel is fused scaled_dot_product_attention.
/// </summary>
public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Parameter in_proj_weight;
    private readonly Parameter in_proj_bias;
    private readonly Linear out_proj;
    private readonly long heads;
    private readonly bool causal;

    public Attention(long width, long heads, bool causal) : base(nameof(Attention))
    {
        this.heads = heads;
        this.causal = causal;
        in_proj_weight = Parameter(empty(3 * width, width));
        in_proj_bias = Parameter(zeros(3 * width));
        out_proj = Linear(width, width);
        RegisterComponents();
    }

    /// <summary>OpenCLIP's init: in_proj ~ N(0, width^-1/2), out_proj ~ N(0, projStd), biases zero.</summary>
    public void ResetParameters(double inStd, double projStd)
    {
        using var _ = no_grad();
        init.normal_(in_proj_weight, 0, inStd);
        init.zeros_(in_proj_bias);
        init.normal_(out_proj.weight, 0, projStd);
        init.zeros_(out_proj.bias!);
    }

    public override Tensor forward(Tensor x) => Forward(x, null, 0);

    /// <summary>The pass without deltas (see the overload).</summary>
    public Tensor Forward(Tensor x, KeyValueCache? cache, int layer) => Forward(x, cache, layer, null);

    /// <summary>
    /// (B, T, W) -> (B, T, W). With a <paramref name="cache"/> (causal only) the T positions follow the cached ones: their
    /// keys and values are appended to layer <paramref name="layer"/>'s and the queries attend to every cached position
    /// and to the new ones up to their own. <paramref name="deltas"/>, when given, add to the in and out projections.
    /// </summary>
    public Tensor Forward(Tensor x, KeyValueCache? cache, int layer, ILayerDeltas? deltas)
    {
        if (cache is not null && !causal)
        {
            throw new InvalidOperationException("a key-value cache serves causal attention only");
        }
        var (b, t, w) = (x.shape[0], x.shape[1], x.shape[2]);
        using var qkv = LayerDeltas.Apply(deltas, layer, LinearSite.AttentionIn, x, MixedPrecision.Linear(x, in_proj_weight, in_proj_bias));   // (B, T, 3W)
        using var split = qkv.view(b, t, 3, heads, w / heads);                  // (B, T, 3, nh, hs)
        using var perm = split.permute(2, 0, 3, 1, 4);                         // (3, B, nh, T, hs)
        using var q = perm[0];
        using var k = perm[1];
        using var v = perm[2];
        using var y = cache is null
            ? MixedPrecision.Attention(q, k, v, causal)                            // (B, nh, T, hs)
            : CachedAttention(q, k, v, cache, layer);
        using var yt = y.transpose(1, 2);                                      // (B, T, nh, hs)
        using var merged = yt.reshape(b, t, w);
        return LayerDeltas.Apply(deltas, layer, LinearSite.AttentionOut, merged, MixedPrecision.Linear(out_proj, merged));
    }

    /// <summary>Queries at cached positions [L, L+T) against keys and values [0, L+T).</summary>
    private static Tensor CachedAttention(Tensor q, Tensor k, Tensor v, KeyValueCache cache, int layer)
    {
        var offset = cache.Length;
        var t = q.shape[2];
        var (keys, values) = cache.Append(layer, k, v);                        // (B, nh, L+T, hs)
        using var _ = keys;
        using var __ = values;
        if (t == 1)
        {
            return functional.scaled_dot_product_attention(q, keys, values);   // one query sees every position
        }
        if (offset == 0)
        {
            return functional.scaled_dot_product_attention(q, keys, values, is_casual: true);
        }
        // query i (position L+i) sees keys 0..L+i: (T, L+T) lower triangle shifted right by L
        using var ones = torch.ones(t, offset + t, ScalarType.Bool, q.device);
        using var mask = ones.tril(offset);
        return functional.scaled_dot_product_attention(q, keys, values, mask);
    }
}
