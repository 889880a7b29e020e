namespace MmCluster.Shared.Runs;

/// <summary>
/// One source of a stage's starting weights (<c>init.from</c> in the spec): <see cref="From"/> as written, the earlier
/// <see cref="Stage"/> it names (null for a file), and the safetensors <see cref="Checkpoint"/> to read, which for a stage
/// is only known when the stage starts (the coordinator fills it in before sending the stage to the workers).
/// </summary>
public sealed record StageInit
{
    public required string From { get; init; }

    public string? Stage { get; init; }

    /// <summary>Absolute path of the safetensors file; null until a stage source is resolved.</summary>
    public string? Checkpoint { get; init; }
}
