namespace MmCluster.Shared.Manifest;

/// <summary>
/// What <see cref="ManifestVerifier"/> found reading every row of a manifest: the reader's own counts per skip reason,
/// the first offenders of each kind, repeated keys across the whole manifest, and the files a run would refuse.
/// </summary>
public sealed record ManifestVerification
{
    /// <summary>The reader's counts over every row read (repeats within a file counted as <see cref="RowSkipReason.DuplicateKey"/>).</summary>
    public required ManifestReadStats Stats { get; init; }

    /// <summary>The first few skipped rows of each reason (repeated keys are in <see cref="FirstDuplicates"/>).</summary>
    public required IReadOnlyList<RowSkip> FirstSkips { get; init; }

    /// <summary>Rows whose key an earlier row of the manifest has, in the same file or another.</summary>
    public required long DuplicateKeys { get; init; }

    public required IReadOnlyList<DuplicateKeyRow> FirstDuplicates { get; init; }

    /// <summary>Files a run stops at (a footer that lies about the split, a data page that cannot be read), with the reader's message.</summary>
    public required IReadOnlyList<(string File, string Message)> RefusedFiles { get; init; }

    /// <summary>Rows skipped for a reason other than a repeated key.</summary>
    public long SkippedRows => Stats.Skipped - Stats.SkippedFor(RowSkipReason.DuplicateKey);

    /// <summary>Whether a run with this duplicate-key policy would stop (rows that would only be skipped do not count).</summary>
    public bool RunRefuses(DuplicateKeyPolicy policy) => RefusedFiles.Count > 0 || policy == DuplicateKeyPolicy.Refuse && DuplicateKeys > 0;
}
