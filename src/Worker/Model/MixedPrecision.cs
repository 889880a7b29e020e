using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model;

/// <summary>
/// Autocast for the model's matrix products, as <c>torch.autocast(dtype=torch.bfloat16)</c> does for a step's forward
/// (TorchSharp 0.107 has none): inside <see cref="Autocast"/> the linear layers, the patch convolution, the projections
/// and attention cast their operands to the compute type, run there, and hand back float32, so layer norms, softmax
/// statistics, residual sums and the loss stay float32. The casts are part of the autograd graph: gradients reach the
/// float32 parameters as float32, so the weights the optimizer updates (the master weights) and its state never leave
/// float32. Outside a scope, or with float32 asked for, every call is the plain float32 operation.
/// The setting is per thread, as a step's forward runs on one.
/// </summary>
public static class MixedPrecision
{
    [ThreadStatic]
    private static ScalarType? compute;

    /// <summary>The compute type of the current thread's scope; null for float32.</summary>
    public static ScalarType? ComputeType => compute;

    /// <summary>Casts the matrix products of this thread to <paramref name="type"/> (null or Float32: none) until disposed.</summary>
    public static Scope Autocast(ScalarType? type)
    {
        var previous = compute;
        compute = type is ScalarType.Float32 ? null : type;
        return new Scope(previous);
    }

    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        if (compute is not { } type)
        {
            return functional.linear(x, weight, bias);
        }
        using var xc = x.to(type);
        using var wc = weight.to(type);
        using var bc = bias?.to(type);
        using var y = functional.linear(xc, wc, bc);
        return y.to(ScalarType.Float32);
    }

    public static Tensor Linear(Linear layer, Tensor x) => Linear(x, layer.weight!, layer.bias);

    public static Tensor MatMul(Tensor a, Tensor b)
    {
        if (compute is not { } type)
        {
            return a.matmul(b);
        }
        using var ac = a.to(type);
        using var bc = b.to(type);
        using var y = ac.matmul(bc);
        return y.to(ScalarType.Float32);
    }

    /// <summary>A convolution whose stride is its kernel (the patch embedding), without padding.</summary>
    public static Tensor PatchConv(Conv2d layer, Tensor x)
    {
        if (compute is not { } type)
        {
            return layer.forward(x);
        }
        using var xc = x.to(type);
        using var wc = layer.weight!.to(type);
        using var bc = layer.bias?.to(type);
        using var y = functional.conv2d(xc, wc, bc, strides: [wc.shape[2], wc.shape[3]]);
        return y.to(ScalarType.Float32);
    }

    /// <summary>Scaled dot-product attention over (B, nh, T, hs) queries, keys and values.</summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, bool causal)
    {
        if (compute is not { } type)
        {
            return functional.scaled_dot_product_attention(q, k, v, is_casual: causal);
        }
        using var qc = q.to(type);
        using var kc = k.to(type);
        using var vc = v.to(type);
        using var y = functional.scaled_dot_product_attention(qc, kc, vc, is_casual: causal);
        return y.to(ScalarType.Float32);
    }

    /// <summary>
    /// Scaled dot-product attention under an additive (B, 1, L, S) float mask (or none), as the Q-Former's: the mask is cast
    /// with the operands (its entries, 0 and -inf, are exact in bfloat16).
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? additiveMask)
    {
        if (compute is not { } type)
        {
            return functional.scaled_dot_product_attention(q, k, v, additiveMask);
        }
        using var qc = q.to(type);
        using var kc = k.to(type);
        using var vc = v.to(type);
        using var mc = additiveMask?.to(type);
        using var y = functional.scaled_dot_product_attention(qc, kc, vc, mc);
        return y.to(ScalarType.Float32);
    }

    /// <summary>Restores the enclosing compute type when disposed.</summary>
    public readonly struct Scope(ScalarType? previous) : IDisposable
    {
        public void Dispose() => compute = previous;
    }
}
