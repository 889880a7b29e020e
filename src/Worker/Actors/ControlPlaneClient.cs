using Akka.Actor;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;

namespace MmCluster.Worker.Actors;

/// <summary><see cref="IControlPlane"/> over the agent actor: Ask for replies, Tell for reports. Safe from any thread.</summary>
internal sealed class ControlPlaneClient(IActorRef agent) : IControlPlane
{
    public async Task<ShardOffer> TryNextShardAsync(int epoch, CancellationToken cancellationToken = default)
    {
        var reply = await agent.Ask<NextShardReply>(new NextShard(epoch), cancellationToken).ConfigureAwait(false);
        return new ShardOffer(reply.Lease, reply.AllLeased);
    }

    public void CompleteShard(ShardLease lease, long rowsConsumed, long step, IReadOnlyDictionary<string, long>? skippedByReason = null) =>
        agent.Tell(new ShardDone(lease, rowsConsumed, step) { SkippedByReason = SkipCounts.From(skippedByReason) });

    public void ReportProgress(ReportProgress report) => agent.Tell(report);

    public Task<CheckpointCommit> CommitCheckpointAsync(long step, string path, CancellationToken cancellationToken = default) =>
        agent.Ask<CheckpointCommit>(new VoteCommit(step, path), cancellationToken);

    public void ReportFinished(long step) => agent.Tell(new TrainerFinished(step));

    public void ReportFailed(string reason, int? lostPeerRank = null) => agent.Tell(new TrainerFailed(reason, lostPeerRank));
}
