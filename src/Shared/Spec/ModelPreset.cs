namespace MmCluster.Shared.Spec;

/// <summary>A named model configuration a spec can pick, the stage kinds it serves and the fields a spec may override.</summary>
public sealed record ModelPreset(string Name, IReadOnlyList<StageKind> Kinds, IReadOnlyList<string> OverridableFields);
