namespace MmCluster.Shared.Spec;

/// <summary>When and how a stage evaluates (it always evaluates at its end).</summary>
public sealed record EvalSpec
{
    /// <summary>Evaluate every this many steps; null: only at the end.</summary>
    public long? EverySteps { get; init; }

    /// <summary>Zero-shot prompt templates with a <c>{}</c> for the class name (an ensemble; training never used them).</summary>
    public IReadOnlyList<string> ZeroShotTemplates { get; init; } = [];

    /// <summary>Held-out image-text pairs for recall@k retrieval; null: no retrieval evaluation.</summary>
    public int? RetrievalHeldOut { get; init; }
}
