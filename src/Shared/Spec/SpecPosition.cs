namespace MmCluster.Shared.Spec;

/// <summary>A 1-based line and column in a spec file.</summary>
public readonly record struct SpecPosition(int Line, int Column);
