namespace MmCluster.Shared.Manifest.Import;

/// <summary>What <see cref="WebDatasetImporter.ImportAsync"/> did, per tar and in all.</summary>
/// <param name="Tars">Every tar the patterns named, in their order.</param>
/// <param name="PartialFilesRemoved">Unfinished files of an interrupted run that were deleted (their tars imported again).</param>
public sealed record WebDatasetImportResult(IReadOnlyList<WebDatasetTarResult> Tars, int PartialFilesRemoved)
{
    public long Rows => Tars.Sum(t => t.Rows);

    public long ImageBytes => Tars.Sum(t => t.ImageBytes);

    /// <summary>Rows with a label (from <c>KEY.cls</c>).</summary>
    public long LabelledRows => Tars.Sum(t => t.LabelledRows);

    /// <summary>Tars whose file an earlier run had finished (not read again).</summary>
    public int Kept => Tars.Count(t => t.Kept);

    public IReadOnlyDictionary<string, long> SkippedByReason => SkipCounts.Sum(Tars.Select(t => t.SkippedByReason));

    public long Skipped => SkippedByReason.Values.Sum();
}
