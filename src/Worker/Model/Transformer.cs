using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model;

/// <summary>A stack of residual attention blocks; causal for the text tower, bidirectional for the image tower.</summary>
public sealed class Transformer : Module<Tensor, Tensor>
{
    private readonly ModuleList<ResidualAttentionBlock> resblocks;
    private readonly long width;

    public Transformer(long width, int layers, long heads, int mlpRatio, bool causal, bool quickGelu = false) : base(nameof(Transformer))
    {
        this.width = width;
        resblocks = new ModuleList<ResidualAttentionBlock>();
        for (var i = 0; i < layers; i++)
        {
            resblocks.Add(new ResidualAttentionBlock(width, heads, mlpRatio * width, causal, quickGelu));
        }
        RegisterComponents();
    }

    /// <summary>OpenCLIP's text-transformer init, used for both towers here.</summary>
    public void ResetParameters()
    {
        var attnStd = Math.Pow(width, -0.5);
        var projStd = attnStd * Math.Pow(2 * resblocks.Count, -0.5);
        var fcStd = Math.Pow(2 * width, -0.5);
        foreach (var block in resblocks)
        {
            block.ResetParameters(attnStd, projStd, fcStd);
        }
    }

    public int Layers => resblocks.Count;

    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// (B, T, W) -> (B, T, W). With a <paramref name="cache"/> (causal only) the T positions follow the cached ones, and
    /// their keys and values are cached after the pass. <paramref name="deltas"/>, when given, add to every block's linear
    /// layers (Partial LoRA).
    /// </summary>
    public Tensor Forward(Tensor x, KeyValueCache? cache, ILayerDeltas? deltas = null) => Forward(x, cache, deltas, resblocks.Count);

    /// <summary>(B, T, W) -> (B, T, W): the output of the first <paramref name="layers"/> blocks only (0: the input itself).</summary>
    public Tensor ForwardFirst(Tensor x, int layers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layers);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layers, resblocks.Count);
        return Forward(x, null, null, layers);
    }

    private Tensor Forward(Tensor x, KeyValueCache? cache, ILayerDeltas? deltas, int layers)
    {
        var h = x.alias();
        for (var i = 0; i < layers; i++)
        {
            var next = resblocks[i].Forward(h, cache, i, deltas);   // (B, T, W) -> (B, T, W)
            h.Dispose();
            h = next;
        }
        cache?.Advance();
        return h;
    }
}
