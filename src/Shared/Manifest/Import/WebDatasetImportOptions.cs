namespace MmCluster.Shared.Manifest.Import;

/// <summary>Webdataset tars (img2dataset's output) to import as a manifest, one Parquet file per tar (<see cref="WebDatasetImporter"/>).</summary>
/// <param name="Shards">Shard patterns (<see cref="ShardPattern"/>: brace ranges and lists, file-name globs).</param>
/// <param name="OutDir">The manifest folder to write.</param>
public sealed record WebDatasetImportOptions(IReadOnlyList<string> Shards, string OutDir)
{
    /// <summary>Tars imported at once (each holds one row group of images in memory).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Split name for every row (the <c>split</c> column and the footer); none when null.</summary>
    public string? Split { get; init; }

    /// <summary>Rows per row group: the images a tar's writer holds in memory at once.</summary>
    public int RowsPerGroup { get; init; } = 500;

    /// <summary>The image checks of a run's reader (bytes, pixels), applied at import so that no row is written that a run would skip.</summary>
    public ManifestReadLimits Limits { get; init; } = ManifestReadLimits.Default;
}
