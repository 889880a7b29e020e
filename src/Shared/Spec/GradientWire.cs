namespace MmCluster.Shared.Spec;

/// <summary>
/// A stage's choice of how gradients travel when they are averaged over ranks (<c>gradient_wire</c> in the run spec).
/// The worker maps it onto the collectives' wire precision; the coordinator only carries it.
/// </summary>
public enum GradientWire
{
    /// <summary>float32 payloads: exact, the default.</summary>
    Float32 = 0,

    /// <summary>bfloat16 payloads, sums still in float32: half the bytes, not bit-exact.</summary>
    BFloat16 = 1,
}
