namespace MmCluster.Shared.Spec;

/// <summary>When and how a stage evaluates (it always evaluates at its end).</summary>
public sealed record EvalSpec
{
    /// <summary>Evaluate every this many steps; null: only at the end.</summary>
    public long? EverySteps { get; init; }

    /// <summary>Zero-shot prompt templates with a <c>{}</c> for the class name (an ensemble; training never used them).</summary>
    public IReadOnlyList<string> ZeroShotTemplates { get; init; } = [];

    /// <summary>
    /// <c>zero_shot.classes</c>: the class name of label i is entry i; null when not given. At most one of this and
    /// <see cref="ZeroShotClassesFile"/>; with neither, the stage uses the classes the manifest import recorded.
    /// </summary>
    public IReadOnlyList<string>? ZeroShotClasses { get; init; }

    /// <summary><c>zero_shot.classes_file</c>: a text file with one class name per line (line i+1 names label i), relative to the spec.</summary>
    public string? ZeroShotClassesFile { get; init; }

    /// <summary>Held-out image-text pairs for recall@k retrieval; null: no retrieval evaluation.</summary>
    public int? RetrievalHeldOut { get; init; }
}
