using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Worker.Actors;

/// <summary>
/// Thread-safe calls a trainer makes to the coordinator, through the worker's agent actor (which never blocks).
/// Every pending call fails with <see cref="RunEndedException"/> when the run ends.
/// </summary>
public interface IControlPlane
{
    /// <summary>
    /// Leases the next shard of <paramref name="epoch"/>, never waiting: a lease; none with <see cref="ShardOffer.AllLeased"/>
    /// when every remaining shard of the epoch is leased to someone (a trainer then reads ahead into the next epoch instead
    /// of starving its peers); none without it when every shard of the epoch is done. Several calls may be outstanding.
    /// </summary>
    Task<ShardOffer> TryNextShardAsync(int epoch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reports a leased shard consumed; <paramref name="step"/> is the step that consumed its last row, and
    /// <paramref name="skippedByReason"/> the shard's rows the reader skipped as bad, by <c>RowSkipReason</c> name.
    /// </summary>
    void CompleteShard(ShardLease lease, long rowsConsumed, long step, IReadOnlyDictionary<string, long>? skippedByReason = null, long generation = 0);

    /// <summary>
    /// Tells the coordinator, before step <paramref name="step"/>'s first collective, where each lease it reads from will
    /// stand once it is trained, so a recovery knows which rows the steps it keeps trained (default: nothing, for control
    /// planes without a coordinator).
    /// </summary>
    void ReportStepStarted(long generation, long step, IReadOnlyList<LeaseCursor> cursors)
    {
    }

    /// <summary>
    /// The trainer stopped <paramref name="generation"/> on an error a new generation can cure, keeping its training state
    /// at <paramref name="completedStep"/> (-1: none); it waits for the next generation of its stage.
    /// </summary>
    void ReportAborted(long generation, long completedStep, string reason, int? lostPeerRank)
    {
    }

    /// <summary>
    /// Sends progress for the dashboard (about once a second). The agent fills in <c>worker_id</c> and <c>rank</c>; the
    /// caller must not change <paramref name="report"/> afterwards.
    /// </summary>
    void ReportProgress(ReportProgress report);

    /// <summary>
    /// Votes to commit the checkpoint of <paramref name="step"/> (every rank calls it; rank 0 after writing the weights
    /// under <paramref name="path"/>). Completes when every rank voted, with the ledger to store in the checkpoint.
    /// </summary>
    Task<CheckpointCommit> CommitCheckpointAsync(long step, string path, CancellationToken cancellationToken = default);

    /// <summary>Tells the coordinator this worker's trainer is done; the run finishes when every worker is.</summary>
    void ReportFinished(long step);

    /// <summary>
    /// The trainer failed with <paramref name="reason"/>: the coordinator fails the run naming this worker and the reason
    /// (call it before the worker leaves; the default does nothing, for control planes without a coordinator).
    /// </summary>
    /// <param name="lostPeerRank">The rank of a peer the failure shows is gone (its collective stream broke, it aborted or
    /// fell silent), so the coordinator can lead with it rather than with this survivor.</param>
    void ReportFailed(string reason, int? lostPeerRank = null)
    {
    }
}
