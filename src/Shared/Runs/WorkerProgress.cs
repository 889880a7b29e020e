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

    /// <summary>The step's phases (ms): forward + loss + backward, the gradient all-reduce, clipping + optimizer; 0 when not timed.</summary>
    public double ForwardBackwardMs { get; init; }

    public double GradAverageMs { get; init; }

    public double OptimizerMs { get; init; }

    /// <summary>Mean time per step the trainer waited for its next batch, over the last report's window.</summary>
    public double DataWaitMs { get; init; }

    /// <summary>The worker the others wait for (<c>StragglerRule</c> in the coordinator).</summary>
    public bool Straggler { get; init; }

    /// <summary>The machine the worker runs on; empty when unknown.</summary>
    public string Host { get; init; } = "";

    /// <summary>Seconds from the worker's last report to the snapshot's <see cref="RunSnapshot.UpdatedAt"/>; 0 before its first.</summary>
    public double LastReportAgeSeconds { get; init; }

    /// <summary>The collective lanes' transports as the worker reports them, e.g. <c>Forward/0: shm</c>.</summary>
    public IReadOnlyList<string> Lanes { get; init; } = [];

    /// <summary>The device the worker registered with (<c>cpu</c>, <c>cuda:0</c>); empty when unknown.</summary>
    public string Device { get; init; } = "";

    /// <summary>The worker process's resident set size at its last report (bytes); null when not reported.</summary>
    public long? ResidentBytes { get; init; }

    /// <summary>The peak of <see cref="ResidentBytes"/> over the process's life (bytes); null when not reported.</summary>
    public long? PeakResidentBytes { get; init; }

    /// <summary>The worker's .NET managed heap at its last report (bytes); null before its first report.</summary>
    public long? ManagedHeapBytes { get; init; }
}
