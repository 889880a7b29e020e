using System.Text.Json.Serialization;
using MmCluster.Shared.Manifest;

namespace MmCluster.Shared.Runs;

/// <summary>
/// The shard ledger's account of one epoch of one stage: samples planned, committed by checkpoints, rows skipped as bad
/// (by reason, and per file), any sample committed twice (<see cref="Duplicates"/>) and the rows never reached
/// (<see cref="Missing"/>: planned, neither trained nor skipped). A correct run ends with zeros in both. An epoch that did
/// not run (<see cref="Ran"/> false: no shard of it was done, it was only read ahead into) has no missing rows.
/// </summary>
public sealed record LedgerCounters(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("samples_expected")] long SamplesExpected,
    [property: JsonPropertyName("samples_committed")] long SamplesCommitted,
    [property: JsonPropertyName("duplicates")] long Duplicates,
    [property: JsonPropertyName("missing")] long Missing)
{
    [JsonPropertyName("ran")]
    public bool Ran { get; init; } = true;

    /// <summary>Rows skipped as bad in the epoch's done shards (the sum of <see cref="SkippedByReason"/>).</summary>
    [JsonPropertyName("skipped")]
    public long Skipped { get; init; }

    /// <summary>By <c>RowSkipReason</c> name (<c>EmptyCaption</c>, <c>ImageUndecodable</c>, ...); non-zero counts only.</summary>
    [JsonPropertyName("skipped_by_reason")]
    public IReadOnlyDictionary<string, long> SkippedByReason { get; init; } = SkipCounts.None;

    /// <summary>The files with skipped rows.</summary>
    [JsonPropertyName("skipped_by_file")]
    public IReadOnlyList<FileSkipCounters> SkippedByFile { get; init; } = [];

    public bool Equals(LedgerCounters? other) =>
        other is not null
        && (Stage, Epoch, SamplesExpected, SamplesCommitted, Duplicates, Missing, Ran, Skipped)
            == (other.Stage, other.Epoch, other.SamplesExpected, other.SamplesCommitted, other.Duplicates, other.Missing, other.Ran, other.Skipped)
        && SkipCounts.Same(SkippedByReason, other.SkippedByReason)
        && SkippedByFile.SequenceEqual(other.SkippedByFile);

    public override int GetHashCode() => HashCode.Combine(Stage, Epoch, SamplesCommitted, Missing, Skipped);
}
