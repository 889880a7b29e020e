using MmCluster.Cli.Chaos;

namespace MmCluster.Cli.Commands;

/// <summary>The flags of <c>mmcluster dev</c>, once parsed.</summary>
internal sealed record DevOptions(string SpecPath, int? Workers, string? RunDirectory, int Threads, bool Resume, bool Live)
{
    /// <summary>Faults to inject (<c>--chaos</c>); none by default.</summary>
    public ChaosPlan Chaos { get; init; } = ChaosPlan.None;

    /// <summary>How often each worker process is restarted at most after it died mid-run.</summary>
    public int MaxWorkerRestarts { get; init; } = 10;

    /// <summary>How often the coordinator process is restarted at most after it died mid-run.</summary>
    public int MaxCoordinatorRestarts { get; init; } = 3;
}
