namespace MmCluster.Shared.Spec;

/// <summary>
/// AdamW settings of a stage. The defaults of betas and eps are PyTorch's (0.9/0.999, 1e-8): every result measured before
/// the spec's betas were honoured (until 2026-12-07 they were silently replaced by these) was trained with them.
/// </summary>
public sealed record OptimizerSpec
{
    public double Lr { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 0.1;

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    /// <summary>The term added to the denominator, sqrt(v̂) + eps.</summary>
    public double Eps { get; init; } = 1e-8;
}
