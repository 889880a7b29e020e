using System.Text.Json.Serialization;
using MmCluster.Shared.Manifest;

namespace MmCluster.Shared.Runs;

/// <summary>
/// One recorded moment of a stage: a training step (losses, learning rate, throughput) or an evaluation (<see cref="Eval"/>
/// filled). The dashboard's history and each line of <c>metrics.jsonl</c> are these.
/// </summary>
public sealed record HistoryPoint
{
    [JsonPropertyName("time")]
    public DateTimeOffset Time { get; init; } = DateTimeOffset.UtcNow;

    [JsonPropertyName("wall_s")]
    public double WallSeconds { get; init; }

    [JsonPropertyName("stage")]
    public required string Stage { get; init; }

    [JsonPropertyName("step")]
    public long Step { get; init; }

    [JsonPropertyName("epoch")]
    public int Epoch { get; init; }

    [JsonPropertyName("losses")]
    public IReadOnlyDictionary<string, double> Losses { get; init; } = new Dictionary<string, double>();

    [JsonPropertyName("lr")]
    public double Lr { get; init; }

    [JsonPropertyName("samples_per_s")]
    public double SamplesPerSecond { get; init; }

    /// <summary>Mean step time over the training workers' last reports (ms), 0 when none reported one.</summary>
    [JsonPropertyName("step_ms")]
    public double StepMs { get; init; }

    /// <summary>Mean time per step the training workers spent in collectives (ms), including waiting for slower ranks.</summary>
    [JsonPropertyName("collective_ms")]
    public double CollectiveMs { get; init; }

    /// <summary>
    /// Rows skipped as bad in the stage so far, by <c>RowSkipReason</c> name: cumulative, from the ledger's done shards
    /// of every epoch of the stage (so it grows as shards are reported done, not row by row).
    /// </summary>
    [JsonPropertyName("skipped")]
    public IReadOnlyDictionary<string, long> Skipped { get; init; } = SkipCounts.None;

    /// <summary>The generation the point was trained in, and its world size (both change at a recovery).</summary>
    [JsonPropertyName("generation")]
    public long Generation { get; init; }

    [JsonPropertyName("world_size")]
    public int WorldSize { get; init; }

    /// <summary>Set on the first point after a recovery: the recovery (a marker for plots).</summary>
    [JsonPropertyName("recovery")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RecoverySummary? Recovery { get; init; }

    /// <summary>Each training worker's timings at this step (from its last report); null when none was recorded.</summary>
    [JsonPropertyName("workers")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<WorkerHistoryPoint>? Workers { get; init; }

    [JsonPropertyName("eval")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? Eval { get; init; }

    /// <summary>The total loss (<c>loss</c> term), or NaN when the point has none (an evaluation).</summary>
    [JsonIgnore]
    public double Loss => Losses.TryGetValue("loss", out var loss) ? loss : double.NaN;

    [JsonIgnore]
    public bool IsEvaluation => Eval is { Count: > 0 };
}
