using System.Text.Json.Serialization;
using MmCluster.Shared.Manifest;

namespace MmCluster.Shared.Runs;

/// <summary>One file of an epoch with skipped rows: its planned rows, the rows trained from it, its skipped rows by reason.</summary>
public sealed record FileSkipCounters(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("samples_expected")] long SamplesExpected,
    [property: JsonPropertyName("samples_committed")] long SamplesCommitted,
    [property: JsonPropertyName("skipped_by_reason")] IReadOnlyDictionary<string, long> SkippedByReason)
{
    public bool Equals(FileSkipCounters? other) =>
        other is not null && (File, SamplesExpected, SamplesCommitted) == (other.File, other.SamplesExpected, other.SamplesCommitted)
        && SkipCounts.Same(SkippedByReason, other.SkippedByReason);

    public override int GetHashCode() => HashCode.Combine(File, SamplesExpected, SamplesCommitted);
}
