namespace MmCluster.Shared.Runs;

/// <summary>One worker's row in a <see cref="RunSnapshot"/>, from its last progress report.</summary>
public sealed record WorkerProgress
{
    public required string WorkerId { get; init; }

    public int Rank { get; init; } = -1;

    /// <summary>The worker's collective gRPC address (host:port).</summary>
    public string Address { get; init; } = "";

    public WorkerState State { get; init; } = WorkerState.Joining;

    public long Step { get; init; }

    public double StepTimeMs { get; init; }

    public double CollectiveTimeMs { get; init; }

    public double SamplesPerSecond { get; init; }

    public DateTimeOffset? LastHeartbeat { get; init; }
}
