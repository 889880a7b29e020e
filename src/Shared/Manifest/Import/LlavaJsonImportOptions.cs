namespace MmCluster.Shared.Manifest.Import;

/// <summary>A LLaVA JSON file and its images folder to import as a manifest (<see cref="LlavaJsonImporter"/>).</summary>
/// <param name="JsonPath">LLaVA's list of <c>{"id", "image", "conversations": [{"from", "value"}, ...]}</c>.</param>
/// <param name="ImagesDir">The folder <c>image</c> paths are relative to.</param>
/// <param name="OutDir">The manifest folder to write.</param>
public sealed record LlavaJsonImportOptions(string JsonPath, string ImagesDir, string OutDir)
{
    /// <summary>Split name for every row (the <c>split</c> column, the footer and the file prefix); none when null (files <c>llava-NNNNN.parquet</c>).</summary>
    public string? Split { get; init; }

    /// <summary>Rows per row group; images are embedded, so a group holds this many images in memory while it is written.</summary>
    public int RowsPerGroup { get; init; } = 500;

    public long RowsPerFile { get; init; } = 10_000;

    /// <summary>The image checks of a run's reader (bytes, pixels), applied at import so that no row is written that a run would skip.</summary>
    public ManifestReadLimits Limits { get; init; } = ManifestReadLimits.Default;
}
