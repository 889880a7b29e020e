using System.Text.Json.Serialization;

namespace MmCluster.Shared.Runs;

/// <summary>
/// One worker's timings at one recorded step (its last progress report: means since the report before it), kept in the
/// <see cref="HistoryPoint"/> of that step so the dashboard can plot every worker's step time split and samples/s over
/// steps, live and from <c>metrics.jsonl</c>.
/// </summary>
public sealed record WorkerHistoryPoint
{
    [JsonPropertyName("worker_id")]
    public required string WorkerId { get; init; }

    [JsonPropertyName("rank")]
    public int Rank { get; init; }

    /// <summary>The worker's own step at its last report (may trail the point's step by up to a report interval).</summary>
    [JsonPropertyName("step")]
    public long Step { get; init; }

    [JsonPropertyName("step_ms")]
    public double StepMs { get; init; }

    [JsonPropertyName("forward_backward_ms")]
    public double ForwardBackwardMs { get; init; }

    [JsonPropertyName("grad_average_ms")]
    public double GradAverageMs { get; init; }

    [JsonPropertyName("optimizer_ms")]
    public double OptimizerMs { get; init; }

    [JsonPropertyName("collective_ms")]
    public double CollectiveMs { get; init; }

    [JsonPropertyName("samples_per_s")]
    public double SamplesPerSecond { get; init; }

    /// <summary>Mean time per step the trainer waited for its next batch (the input pipeline not keeping up).</summary>
    [JsonPropertyName("data_wait_ms")]
    public double DataWaitMs { get; init; }
}
