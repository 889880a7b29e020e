namespace MmCluster.Shared.Spec;

/// <summary>
/// The arithmetic of a stage's forward pass (<c>precision</c> in the run spec). The coordinator only carries it; the
/// worker maps it onto its autocast.
/// </summary>
public enum StagePrecision
{
    /// <summary>float32 throughout: the default.</summary>
    Fp32 = 0,

    /// <summary>
    /// Matrix products in bfloat16, everything else and the weights, gradients and optimizer state in float32
    /// (<c>torch.autocast(dtype=torch.bfloat16)</c> with float32 master weights).
    /// </summary>
    Bf16Mixed = 1,
}
