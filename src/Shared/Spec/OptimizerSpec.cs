namespace MmCluster.Shared.Spec;

/// <summary>AdamW settings of a stage.</summary>
public sealed record OptimizerSpec
{
    public double Lr { get; init; } = 1e-3;

    public double WeightDecay { get; init; } = 0.1;

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.98;
}
