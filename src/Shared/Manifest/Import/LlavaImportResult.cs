namespace MmCluster.Shared.Manifest.Import;

/// <summary>What <see cref="LlavaJsonImporter.ImportAsync"/> did: rows written, the files, entries left out by reason.</summary>
public sealed record LlavaImportResult(long Entries, long RowsWritten, IReadOnlyList<string> Files, IReadOnlyDictionary<LlavaImportSkipReason, long> SkippedByReason)
{
    public long Skipped => SkippedByReason.Values.Sum();

    /// <summary>"2 NoImage, 1 ImageFileMissing", or "none".</summary>
    public string DescribeSkips() =>
        SkippedByReason.Count == 0 ? "none" : string.Join(", ", SkippedByReason.OrderBy(kv => kv.Key).Select(kv => $"{kv.Value:N0} {kv.Key}"));
}
