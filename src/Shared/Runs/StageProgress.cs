using MmCluster.Shared.Spec;

namespace MmCluster.Shared.Runs;

/// <summary>One stage's row in a <see cref="RunSnapshot"/>: state, steps, its loss terms and its last evaluation.</summary>
public sealed record StageProgress
{
    public required string Name { get; init; }

    public required StageKind Kind { get; init; }

    public StageState State { get; init; } = StageState.Pending;

    public IReadOnlyList<string> DependsOn { get; init; } = [];

    public long Step { get; init; }

    /// <summary>Known once the coordinator planned the stage (epochs times steps per epoch); 0 before.</summary>
    public long TotalSteps { get; init; }

    public int Epoch { get; init; }

    public long SamplesSeen { get; init; }

    /// <summary>Latest value of each loss term: <c>loss</c> (the total) and e.g. <c>itc</c>, <c>itm</c>, <c>itg</c>.</summary>
    public IReadOnlyDictionary<string, double> Losses { get; init; } = new Dictionary<string, double>();

    /// <summary>Metrics of the stage's last evaluation (e.g. <c>zero_shot_top1</c>, <c>i2t_r1</c>).</summary>
    public IReadOnlyDictionary<string, double> Eval { get; init; } = new Dictionary<string, double>();

    public double WallSeconds { get; init; }
}
