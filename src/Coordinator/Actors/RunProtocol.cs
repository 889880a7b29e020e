using Akka.Actor;
using MmCluster.Coordinator.Ledger;

namespace MmCluster.Coordinator.Actors;

/// <summary>What a run is for the RunActor: its id, the world size to wait for and the stage to send.</summary>
/// <param name="RunId">Names the run in every StartGeneration.</param>
/// <param name="WorldSize">Number of workers to wait for before assigning ranks.</param>
/// <param name="StageConfig">The stage's configuration, passed to workers untouched.</param>
/// <param name="Generation">1 for a fresh run; a resume may continue the numbering.</param>
public sealed record RunSettings(string RunId, int WorldSize, ReadOnlyMemory<byte> StageConfig, long Generation = 1)
{
    /// <summary>Fails the run when the world size has not registered in time; null waits forever.</summary>
    public TimeSpan? RendezvousTimeout { get; init; }
}

/// <summary>Where a run is in its life.</summary>
public enum RunPhase
{
    WaitingForWorkers,
    Running,
    Finished,
    Failed,
}

/// <summary>Query for the run's state; answered by <see cref="RunSnapshot"/>.</summary>
public sealed class GetRunSnapshot
{
    public static readonly GetRunSnapshot Instance = new();

    private GetRunSnapshot() { }
}

/// <summary>Subscribes an actor (a dashboard stream) to every new <see cref="RunSnapshot"/>; it gets the current one at once.</summary>
public sealed record SubscribeRunSnapshots(IActorRef Subscriber);

/// <summary>Stops sending snapshots to a subscriber (also done when it terminates).</summary>
public sealed record UnsubscribeRunSnapshots(IActorRef Subscriber);

/// <summary>Sent by the coordinator host on Ctrl-C or SIGTERM: fail the run, tell the workers; answered by the outcome.</summary>
public sealed record AbortRun(string Reason);

/// <summary>What the dashboard shows of one worker: its registration and its last progress report.</summary>
public sealed record WorkerStatus(
    string WorkerId,
    int Rank,
    string AkkaAddress,
    string CollectiveAddress,
    string Device,
    int Threads,
    long Step,
    int Epoch,
    double Loss,
    double SamplesPerSecond,
    double StepTimeMs,
    double CollectiveTimeMs,
    IReadOnlyDictionary<string, double> Metrics,
    bool Finished,
    DateTimeOffset? LastReportAt);

/// <summary>The run as the coordinator sees it; published to subscribers after every change.</summary>
public sealed record RunSnapshot(
    string RunId,
    long Generation,
    RunPhase Phase,
    int WorldSize,
    IReadOnlyList<WorkerStatus> Workers,
    LedgerStats Ledger,
    long? LastCommittedStep,
    string? LastCommittedPath,
    string? FailureReason,
    DateTimeOffset UpdatedAt);

/// <summary>How a run ended: what the coordinator process reports and exits with.</summary>
public sealed record RunOutcome(bool Succeeded, string Message, RunSnapshot Final)
{
    /// <summary>0 when every worker finished, 1 when the run failed.</summary>
    public int ExitCode => Succeeded ? 0 : 1;
}
