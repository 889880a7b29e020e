namespace MmCluster.Shared.Runs;

/// <summary>One stage in <c>summary.json</c>.</summary>
public sealed record StageSummary
{
    public required string Name { get; init; }

    public required string Kind { get; init; }

    public required StageState State { get; init; }

    public long Steps { get; init; }

    public long SamplesSeen { get; init; }

    /// <summary>The stage's last total loss; null when it never stepped.</summary>
    public double? FinalLoss { get; init; }

    public IReadOnlyDictionary<string, double> Losses { get; init; } = new Dictionary<string, double>();

    public IReadOnlyDictionary<string, double> Eval { get; init; } = new Dictionary<string, double>();

    public double WallS { get; init; }
}
