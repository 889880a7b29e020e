namespace MmCluster.Shared.Spec;

/// <summary>Learning-rate schedule: linear warm-up, then cosine decay to zero (or constant when <see cref="Cosine"/> is off).</summary>
public sealed record ScheduleSpec
{
    public long WarmupSteps { get; init; }

    public bool Cosine { get; init; } = true;
}
