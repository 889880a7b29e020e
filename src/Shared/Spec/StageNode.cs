namespace MmCluster.Shared.Spec;

/// <summary>A stage as the scheduler sees it: a name and the names it waits for.</summary>
public sealed record StageNode(string Name, IReadOnlyList<string> DependsOn);
