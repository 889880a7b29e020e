namespace MmCluster.Worker.Actors;

/// <summary>In-process: the trainer asks the agent for a shard; answered by <see cref="NextShardReply"/>.</summary>
public sealed record NextShard(int Epoch);

/// <summary>
/// In-process answer to <see cref="NextShard"/>: a lease; or null with <paramref name="AllLeased"/> (the rest of the epoch
/// is leased to others); or null at the end of the epoch.
/// </summary>
public sealed record NextShardReply(ShardLease? Lease, bool AllLeased = false);

/// <summary>In-process: the trainer consumed a shard (the reader skipped <see cref="SkippedByReason"/> of its rows as bad).</summary>
public sealed record ShardDone(ShardLease Lease, long RowsConsumed, long Step)
{
    public IReadOnlyDictionary<string, long> SkippedByReason { get; init; } = new Dictionary<string, long>();

    /// <summary>The generation whose step consumed it.</summary>
    public long Generation { get; init; }
}

/// <summary>In-process: the trainer votes for a checkpoint commit; answered by <see cref="CheckpointCommit"/>.</summary>
public sealed record VoteCommit(long Step, string Path);

/// <summary>In-process: the trainer finished the run.</summary>
public sealed record TrainerFinished(long Step);

/// <summary>
/// The trainer stopped a generation on an error a new generation can cure (<see cref="IControlPlane.ReportAborted"/>);
/// the agent tells the coordinator with <c>GenerationAborted</c>.
/// </summary>
public sealed record TrainerAborted(long Generation, long CompletedStep, string Reason, int? LostPeerRank);

/// <summary>The trainer failed; the agent tells the coordinator why (<see cref="IControlPlane.ReportFailed"/>).</summary>
public sealed record TrainerFailed(string Reason, int? LostPeerRank = null);

/// <summary>In-process, from the worker's CoordinatedShutdown: end the session with this reason before leaving; answered by Done.</summary>
public sealed record LeaveRun(string Reason);
