namespace MmCluster.Shared.Manifest;

/// <summary>
/// Rows a reader yielded or skipped. Bad rows (empty caption, image that does not decode or whose file is missing,
/// missing key) are skipped and counted here, never thrown. Thread-safe: shards may be read concurrently.
/// </summary>
public sealed class ManifestReadStats
{
    private readonly long[] _counts = new long[Enum.GetValues<ManifestRowVerdict>().Length];

    public long RowsYielded => Read(ManifestRowVerdict.Ok);

    public long SkippedEmptyCaption => Read(ManifestRowVerdict.EmptyCaption);

    /// <summary>Images that are empty, not decodable by SkiaSharp, or (by-path) missing or unreadable.</summary>
    public long SkippedUndecodableImage => Read(ManifestRowVerdict.UndecodableImage);

    public long SkippedMissingKey => Read(ManifestRowVerdict.MissingKey);

    /// <summary>Rows of another split than the one asked for (not an error).</summary>
    public long FilteredBySplit => Read(ManifestRowVerdict.OtherSplit);

    public long Skipped => SkippedEmptyCaption + SkippedUndecodableImage + SkippedMissingKey;

    internal void Count(ManifestRowVerdict verdict) => Interlocked.Increment(ref _counts[(int)verdict]);

    private long Read(ManifestRowVerdict verdict) => Interlocked.Read(ref _counts[(int)verdict]);

    public override string ToString() =>
        $"{RowsYielded} rows, skipped {SkippedEmptyCaption} empty captions, {SkippedUndecodableImage} undecodable images, {SkippedMissingKey} missing keys; {FilteredBySplit} rows of other splits";
}

/// <summary>Why a row was or was not yielded.</summary>
internal enum ManifestRowVerdict
{
    Ok,
    EmptyCaption,
    UndecodableImage,
    MissingKey,
    OtherSplit,
}
