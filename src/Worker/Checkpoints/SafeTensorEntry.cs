namespace MmCluster.Worker.Checkpoints;

/// <summary>One named tensor of a safetensors file: dtype code ("F32", "I64", "U8", ...), shape and raw little-endian bytes.</summary>
public sealed record SafeTensorEntry(string Name, string DType, long[] Shape, byte[] Data)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}
