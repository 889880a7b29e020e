using System.Text.Json.Serialization;

namespace MmCluster.Shared.Runs;

/// <summary>
/// The shard ledger's account of one epoch of one stage: samples planned, committed by checkpoints, and any sample
/// committed twice (<see cref="Duplicates"/>) or never (<see cref="Missing"/>). A correct run ends with zeros in both.
/// </summary>
public sealed record LedgerCounters(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("samples_expected")] long SamplesExpected,
    [property: JsonPropertyName("samples_committed")] long SamplesCommitted,
    [property: JsonPropertyName("duplicates")] long Duplicates,
    [property: JsonPropertyName("missing")] long Missing);
