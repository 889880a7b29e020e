namespace MmCluster.Shared.Manifest.Import;

/// <summary>A synthetic manifest for scale tests: <see cref="Rows"/> rows spread evenly over files and row groups.</summary>
public sealed record SyntheticManifestOptions(long Rows, int Files, string OutDir)
{
    public int RowGroupsPerFile { get; init; } = 10;

    /// <summary>Embed small generated PNGs; without images the <c>image</c> column holds empty values (rows a reader would skip).</summary>
    public bool Images { get; init; }

    /// <summary>Files written at once.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;
}
