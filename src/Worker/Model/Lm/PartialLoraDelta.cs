using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// One low-rank delta of Partial LoRA (XComposer2's PLoRA lora_A / lora_B): x ↦ (x Aᵀ Bᵀ)·alpha/r with A (r, in) drawn as
/// nn.Linear's kaiming-uniform init and B (out, r) zero, so a fresh delta adds nothing (LoRA, Hu et al. 2021, §4.1).
/// </summary>
public sealed class PartialLoraDelta : nn.Module
{
    private readonly Parameter plora_a;
    private readonly Parameter plora_b;
    // Held for the module's life: an implicit Scalar from `up * scale` is a finalizable temporary the GC may free while
    // libtorch still reads it (docs/fault-tolerance.md, "libtorch step failures").
    private readonly Scalar scale;

    public PartialLoraDelta(long inFeatures, long outFeatures, PartialLoraConfig config) : base(nameof(PartialLoraDelta))
    {
        scale = config.Scale.ToScalar();
        plora_a = Parameter(empty(config.Rank, inFeatures));
        plora_b = Parameter(zeros(outFeatures, config.Rank));
        RegisterComponents();
        using var _ = no_grad();
        init.kaiming_uniform_(plora_a, Math.Sqrt(5));
    }

    /// <summary>(B, L, in) -> (B, L, out): the delta at every position (the caller keeps it where it applies).</summary>
    public Tensor Delta(Tensor x)
    {
        using var down = MixedPrecision.Linear(x, plora_a, null);     // (B, L, in) -> (B, L, r)
        using var up = MixedPrecision.Linear(down, plora_b, null);    // (B, L, r) -> (B, L, out)
        return up.mul(scale);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            scale.Dispose();
        }
        base.Dispose(disposing);
    }
}
