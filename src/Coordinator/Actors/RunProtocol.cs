using Akka.Actor;
using MmCluster.Coordinator.Ledger;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Actors;

/// <summary>What a run is for the RunActor: its id, the world size to wait for and the stages to send.</summary>
/// <param name="RunId">Names the run in every StartGeneration.</param>
/// <param name="WorldSize">Number of workers to wait for before assigning ranks.</param>
/// <param name="StageConfig">The configuration of a one-stage run, passed to workers untouched (ignored when <see cref="Stages"/> is set).</param>
/// <param name="Generation">The first stage's generation (1 for a fresh run); stage k runs as generation + k.</param>
public sealed record RunSettings(string RunId, int WorldSize, ReadOnlyMemory<byte> StageConfig, long Generation = 1)
{
    /// <summary>Fails the run when the world size has not registered in time; null waits forever.</summary>
    public TimeSpan? RendezvousTimeout { get; init; }

    /// <summary>The schedule, in the order to run it; empty: one stage named "stage" with <see cref="StageConfig"/>.</summary>
    public IReadOnlyList<ScheduledStage> Stages { get; init; } = [];

    /// <summary>Index of the first stage to run; earlier ones are done already (a resumed run).</summary>
    public int StartAt { get; init; }

    /// <summary>How the run survives lost workers; disabled by default (a lost worker fails the run).</summary>
    public RecoverySettings Recovery { get; init; } = RecoverySettings.Disabled;

    /// <summary>The stages the RunActor drives: <see cref="Stages"/>, or the one-stage run of <see cref="StageConfig"/>.</summary>
    public IReadOnlyList<ScheduledStage> Schedule =>
        Stages.Count > 0 ? Stages : [new ScheduledStage("stage", () => StageConfig)];
}

/// <summary>
/// One stage of a run's schedule. <see cref="Prepare"/> is called when the stage is about to start (every earlier stage
/// done) and returns the configuration to send the workers (opaque bytes); it throws to fail the run with its message
/// (e.g. a missing input checkpoint). <see cref="RowsPerStep"/> gives rank r's rows per step in a generation of W ranks
/// (the stage's batch split), from which the ledger gives each rank its share of an epoch; null: every rank the same.
/// </summary>
public sealed record ScheduledStage(string Name, Func<ReadOnlyMemory<byte>> Prepare, Func<int, int, int>? RowsPerStep = null)
{
    /// <summary>The stage's kind as the spec spells it (<c>clip</c>, <c>lm</c>, ...); null when not known (tests, one-stage runs).</summary>
    public string? Kind { get; init; }
}

/// <summary>One stage as the RunActor sees it: its state, its generation and its own shard ledger's counts.</summary>
public sealed record StageStatus(
    string Name,
    StageState State,
    long? Generation,
    LedgerStats Ledger,
    long? LastCommittedStep,
    string? LastCommittedPath,
    string? Error,
    DateTimeOffset? StartedAt = null);

/// <summary>Where a run is in its life.</summary>
public enum RunPhase
{
    WaitingForWorkers,
    Running,

    /// <summary>The world grows: the members finish the step in flight and stop at its boundary, then the recovery re-forms.</summary>
    Draining,
    Recovering,
    Finished,
    Failed,
}

/// <summary>Query for the run's state; answered by <see cref="RunStatus"/>.</summary>
public sealed class GetRunStatus
{
    public static readonly GetRunStatus Instance = new();

    private GetRunStatus() { }
}

/// <summary>Subscribes an actor (the dashboard feed) to every new <see cref="RunStatus"/>; it gets the current one at once.</summary>
public sealed record SubscribeRunStatus(IActorRef Subscriber);

/// <summary>Stops sending the run's status to a subscriber (also done when it terminates).</summary>
public sealed record UnsubscribeRunStatus(IActorRef Subscriber);

/// <summary>Sent by the coordinator host on Ctrl-C or SIGTERM: fail the run, tell the workers; answered by the outcome.</summary>
public sealed record AbortRun(string Reason);

/// <summary>
/// One worker as the RunActor sees it: its registration and its last progress report in the running stage (null before
/// its first; reset when a stage starts). The report is the message as received and is never changed.
/// </summary>
public sealed record WorkerStatus(
    string WorkerId,
    int Rank,
    string AkkaAddress,
    string CollectiveAddress,
    string Device,
    int Threads,
    ReportProgress? Progress,
    bool Finished,
    DateTimeOffset? LastReportAt)
{
    public long Step => Progress?.Step ?? 0;

    public int Epoch => Progress?.Epoch ?? 0;

    /// <summary>The last step's total loss; NaN before the first report.</summary>
    public double Loss => Progress?.Loss ?? double.NaN;

    public double SamplesPerSecond => Progress?.SamplesPerSecond ?? 0;

    public double StepTimeMs => Progress?.StepTimeMs ?? 0;

    public double CollectiveTimeMs => Progress?.CollectiveTimeMs ?? 0;
}

/// <summary>
/// The run as the RunActor sees it (phase, schedule, workers with their last reports, ledgers); sent to subscribers
/// after every change. The dashboard's view of the run is <see cref="Shared.Runs.RunSnapshot"/>, built from it by
/// <see cref="Progress.RunStatusMapping"/>.
/// </summary>
public sealed record RunStatus(
    string RunId,
    long Generation,
    RunPhase Phase,
    int WorldSize,
    IReadOnlyList<WorkerStatus> Workers,
    LedgerStats Ledger,
    long? LastCommittedStep,
    string? LastCommittedPath,
    string? FailureReason,
    DateTimeOffset UpdatedAt)
{
    /// <summary>Every stage of the schedule, in order, with its state (pending, running, done, failed).</summary>
    public IReadOnlyList<StageStatus> Stages { get; init; } = [];

    /// <summary>Index into <see cref="Stages"/> of the running stage (or the last that ran).</summary>
    public int StageIndex { get; init; }

    /// <summary>The running stage's name (or the last that ran); null when the snapshot has no schedule.</summary>
    public string? Stage => StageIndex < Stages.Count ? Stages[StageIndex].Name : null;

    /// <summary>Every recovery so far, oldest first.</summary>
    public IReadOnlyList<RecoverySummary> Recoveries { get; init; } = [];
}

/// <summary>How a run ended: what the coordinator process reports and exits with.</summary>
public sealed record RunOutcome(bool Succeeded, string Message, RunStatus Final)
{
    /// <summary>0 when every worker finished, 1 when the run failed.</summary>
    public int ExitCode => Succeeded ? 0 : 1;

    /// <summary>
    /// How long the coordinator should stay after a successful run to tell late replacements that it finished: the
    /// replacement wait when workers lost during the run were never replaced (a Kubernetes Job recreates a lost worker's
    /// pod, which may come up only after the run's end and must then exit 0, not wait for a coordinator that is gone);
    /// zero otherwise.
    /// </summary>
    public TimeSpan LateJoinerWait { get; init; }

    /// <summary>The Kubernetes Jobs (uids) of the workers the run admitted; empty outside Kubernetes.</summary>
    public IReadOnlyList<string> WorkerJobs { get; init; } = [];
}
