namespace MmCluster.Shared.Spec;

/// <summary>Where a stage's weights start from and which parts stay frozen.</summary>
public sealed record InitSpec
{
    /// <summary>
    /// Where the weights come from, each an earlier stage's name (its final checkpoint) or a safetensors file path;
    /// loaded in order, each supplying the modules it holds (BLIP-2 stage 2 takes the Q-Former stage and the language model).
    /// A single value in the spec is a list of one.
    /// </summary>
    public IReadOnlyList<string> From { get; init; } = [];

    /// <summary>Module name prefixes (state-dict key prefixes) whose parameters get no gradient and no all-reduce.</summary>
    public IReadOnlyList<string> Freeze { get; init; } = [];
}
