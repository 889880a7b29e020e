namespace MmCluster.Worker.Checkpoints;

/// <summary>A parsed, validated safetensors header: entries with byte ranges relative to the data section, and metadata.</summary>
public sealed record SafeTensorsHeader(long HeaderLength, IReadOnlyList<SafeTensorsHeader.Entry> Entries, IReadOnlyDictionary<string, string> Metadata)
{
    public sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);
}
