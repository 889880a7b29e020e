namespace MmCluster.Shared.Manifest;

/// <summary>
/// Rows a reader yielded or skipped. Bad rows are skipped and counted here per <see cref="RowSkipReason"/>, never
/// thrown; each skip is also handed to <see cref="OnSkip"/> with its file, row group and row. Thread-safe: shards may
/// be read concurrently.
/// </summary>
public sealed class ManifestReadStats
{
    private static readonly RowSkipReason[] Reasons = Enum.GetValues<RowSkipReason>();
    private static readonly RowSkipReason[] ImageReasons = [.. Reasons.Except([RowSkipReason.MissingKey, RowSkipReason.EmptyCaption, RowSkipReason.DuplicateKey, RowSkipReason.MalformedConversation])];
    private readonly long[] _skipped = new long[Reasons.Length];
    private long _yielded;
    private long _filtered;
    private long _captionsTruncated;
    private long _conversations;

    /// <summary>Called for every skipped row (on the reading thread), e.g. to log it.</summary>
    public Action<RowSkip>? OnSkip { get; init; }

    /// <summary>Called with the file row of every row of another split (on the reading thread).</summary>
    public Action<long>? OnFiltered { get; init; }

    public long RowsYielded => Interlocked.Read(ref _yielded);

    /// <summary>Rows of another split than the one asked for (not an error, not a skip).</summary>
    public long FilteredBySplit => Interlocked.Read(ref _filtered);

    /// <summary>Captions cut to <see cref="ManifestReadLimits.MaxCaptionChars"/> (the rows were yielded).</summary>
    public long CaptionsTruncated => Interlocked.Read(ref _captionsTruncated);

    /// <summary>Yielded rows that carry a <see cref="ManifestRow.Conversation"/>.</summary>
    public long RowsWithConversation => Interlocked.Read(ref _conversations);

    public long SkippedEmptyCaption => SkippedFor(RowSkipReason.EmptyCaption);

    public long SkippedMissingKey => SkippedFor(RowSkipReason.MissingKey);

    /// <summary>Rows whose image was refused, whatever the reason (missing, outside the manifest, too large, undecodable, ...).</summary>
    public long SkippedUndecodableImage => ImageReasons.Sum(SkippedFor);

    /// <summary>Every skipped row.</summary>
    public long Skipped => Reasons.Sum(SkippedFor);

    /// <summary>The non-zero counts, per reason.</summary>
    public IReadOnlyDictionary<RowSkipReason, long> SkippedByReason =>
        Reasons.Where(r => SkippedFor(r) > 0).ToDictionary(r => r, SkippedFor);

    public long SkippedFor(RowSkipReason reason) => Interlocked.Read(ref _skipped[(int)reason]);

    internal void Yielded(bool captionTruncated, bool conversation = false)
    {
        Interlocked.Increment(ref _yielded);
        if (conversation)
        {
            Interlocked.Increment(ref _conversations);
        }
        if (captionTruncated)
        {
            Interlocked.Increment(ref _captionsTruncated);
        }
    }

    internal void Filtered(long fileRow)
    {
        Interlocked.Increment(ref _filtered);
        OnFiltered?.Invoke(fileRow);
    }

    internal void Skip(RowSkip skip)
    {
        Interlocked.Increment(ref _skipped[(int)skip.Reason]);
        OnSkip?.Invoke(skip);
    }

    public override string ToString()
    {
        var skipped = SkippedByReason;
        var reasons = skipped.Count == 0 ? "none" : string.Join(", ", skipped.Select(kv => $"{kv.Value} {kv.Key}"));
        return $"{RowsYielded} rows ({CaptionsTruncated} captions cut), skipped {Skipped}: {reasons}; {FilteredBySplit} rows of other splits";
    }
}
