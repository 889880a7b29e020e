namespace MmCluster.Collectives;

/// <summary>
/// How a collective's payloads travel between ranks. Buffers are float32 on every rank either way; only the wire changes.
/// </summary>
public enum WirePrecision
{
    /// <summary>Payloads travel as float32: the result is exact (the default, and what the gradient-equivalence specs check).</summary>
    Float32 = 0,

    /// <summary>
    /// Payloads travel as bfloat16 (round to nearest even), half the bytes; sums are still taken in float32. Inexact (about
    /// 3 significant digits per value sent), as PyTorch DDP's bf16 compression hook: an opt-in for gradient averaging, never
    /// for the contrastive losses' gathers. Every rank still ends with bit-identical values.
    /// </summary>
    BFloat16 = 1,
}
