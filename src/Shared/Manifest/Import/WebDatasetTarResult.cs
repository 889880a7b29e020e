namespace MmCluster.Shared.Manifest.Import;

/// <summary>One tar's import: its Parquet file, rows, image bytes and what was left out, by reason name.</summary>
/// <param name="Tar">The tar's path.</param>
/// <param name="File">The Parquet file written for it.</param>
/// <param name="Kept">True when the file was complete from an earlier run and the tar was not read again (counts from its footer).</param>
public sealed record WebDatasetTarResult(string Tar, string File, long Rows, long ImageBytes, IReadOnlyDictionary<string, long> SkippedByReason, bool Kept)
{
    /// <summary>Rows with a label (a valid <c>KEY.cls</c>); for a kept file, from its footer's null count of <c>label</c>.</summary>
    public long LabelledRows { get; init; }
}
