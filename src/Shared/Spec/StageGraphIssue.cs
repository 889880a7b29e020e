namespace MmCluster.Shared.Spec;

/// <summary>Why a list of stages is not a schedule.</summary>
public enum StageGraphIssueKind
{
    DuplicateName,
    UnknownDependency,
    Cycle,
}

/// <summary>
/// One problem in a stage list: the stage's index and, for dependency problems, the index in its <c>depends_on</c> list,
/// so the spec validator can point at the exact YAML entry.
/// </summary>
public sealed record StageGraphIssue(StageGraphIssueKind Kind, int Stage, int? Dependency, string Message);
