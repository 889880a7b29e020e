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

    public void CompleteShard(ShardLease lease, long rowsConsumed, long step, IReadOnlyDictionary<string, long>? skippedByReason = null, long generation = 0) =>
        agent.Tell(new ShardDone(lease, rowsConsumed, step) { SkippedByReason = SkipCounts.From(skippedByReason), Generation = generation });

    public void ReportStepStarted(long generation, long step, IReadOnlyList<LeaseCursor> cursors)
    {
        var started = new StepStarted { Generation = generation, Step = step };
        started.Cursors.AddRange(cursors);
        agent.Tell(started);
    }

    public void ReportAborted(long generation, long completedStep, string reason, int? lostPeerRank) =>
        agent.Tell(new TrainerAborted(generation, completedStep, reason, lostPeerRank));

    public void ReportProgress(ReportProgress report) => agent.Tell(report);

    public Task<CheckpointCommit> CommitCheckpointAsync(long step, string path, CancellationToken cancellationToken = default) =>
        agent.Ask<CheckpointCommit>(new VoteCommit(step, path), cancellationToken);

    public void ReportFinished(long step) => agent.Tell(new TrainerFinished(step));

    public void ReportFailed(string reason, int? lostPeerRank = null) => agent.Tell(new TrainerFailed(reason, lostPeerRank));
}
