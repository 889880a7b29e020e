namespace MmCluster.Shared.Spec;

/// <summary>A stage's model: a named preset (see <see cref="ModelPresetCatalog"/>) and per-field overrides.</summary>
public sealed record ModelSpec
{
    public string? Preset { get; init; }

    /// <summary>Preset fields to change, as written in the spec (the worker's model config parses the values).</summary>
    public IReadOnlyDictionary<string, string> Overrides { get; init; } = new Dictionary<string, string>();
}
