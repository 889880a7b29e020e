using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;

namespace MmCluster.Worker.Actors;

/// <summary>One rank's entry in the peer table: where its collective gRPC service listens.</summary>
public sealed record PeerInfo(int Rank, string WorkerId, string CollectiveAddress, string AkkaAddress);

/// <summary>What the coordinator's StartGeneration gives the trainer: rank, world, peers, and the stage's config.</summary>
public sealed record GenerationInfo(
    string RunId,
    long Generation,
    int Rank,
    int WorldSize,
    IReadOnlyList<PeerInfo> Peers,
    ReadOnlyMemory<byte> StageConfig)
{
    /// <summary>The stage's index in the run's schedule.</summary>
    public int StageIndex { get; init; }

    /// <summary>Set when this generation continues its stage after a failure: the kept step, its source rank, the epoch.</summary>
    public GenerationRecovery? Recovery { get; init; }
}

/// <summary>A shard leased to this worker for one epoch.</summary>
public sealed record ShardLease(int Epoch, ShardSpec Shard);

/// <summary>
/// The answer to a non-waiting shard request: a lease; or none with <paramref name="AllLeased"/> (others hold the rest of
/// the epoch); or none without it (every shard of the epoch is done).
/// </summary>
public sealed record ShardOffer(ShardLease? Lease, bool AllLeased);

/// <summary>A committed checkpoint: the coordinator's shard ledger as of <paramref name="Step"/>, protobuf-encoded.</summary>
public sealed record CheckpointCommit(long Step, string Path, ReadOnlyMemory<byte> Ledger);

/// <summary>How the run ended for this worker. <paramref name="Reason"/> names the worker that caused a failure.</summary>
public sealed record RunEnded(bool Succeeded, string Reason)
{
    /// <summary>
    /// The coordinator said the run is over for this worker (the run failed, or it refused the worker): restarting the
    /// worker cannot help, so a supervisor (a Kubernetes Job's podFailurePolicy) should not.
    /// </summary>
    public bool Final { get; init; }

    /// <summary>
    /// Set when the worker lost its coordinator (it died, became unreachable, or removed this worker) in a run whose
    /// recovery lets workers wait for a restarted coordinator: the process keeps running and rejoins within this time
    /// (recovery.coordinator_wait) with the same worker id; null: it exits.
    /// </summary>
    public TimeSpan? RejoinWithin { get; init; }

    /// <summary>No coordinator was up within the join timeout of the worker's first join (not a rejoin).</summary>
    public bool NoCoordinator { get; init; }

    /// <summary>0 when the run finished; <see cref="FinalExitCode"/> when the coordinator ended it; 1 otherwise.</summary>
    public int ExitCode => Succeeded ? 0 : Final ? FinalExitCode : 1;

    /// <summary>The exit code of a worker whose run the coordinator ended (failed or refused it).</summary>
    public const int FinalExitCode = 3;
}

/// <summary>Thrown into a trainer's pending control-plane calls when the run ends.</summary>
public sealed class RunEndedException(string reason) : Exception(reason);

/// <summary>
/// Thrown into a trainer's pending control-plane calls when the coordinator aborts its generation (a peer was lost): the
/// trainer keeps its state and waits for the next generation.
/// </summary>
public sealed class GenerationAbortedException(string reason) : Exception(reason);

/// <summary>
/// Thrown by a trainer that stopped its generation at the step boundary the coordinator's drain named (the world grows):
/// it keeps its state, reports the completed step and waits for the next generation; its collectives stay intact.
/// </summary>
public sealed class GenerationDrainedException(string reason) : Exception(reason);
