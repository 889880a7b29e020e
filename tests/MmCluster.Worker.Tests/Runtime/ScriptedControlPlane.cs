using System.Collections.Concurrent;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;
using MmCluster.Worker.Actors;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>
/// The coordinator as a trainer sees it: every epoch hands out <paramref name="shards"/> in order, then says the epoch is
/// done; an epoch in <see cref="LeasedToOthers"/> answers "all leased". Records everything the trainer reports.
/// </summary>
internal sealed class ScriptedControlPlane(IReadOnlyList<ShardSpec> shards) : IControlPlane
{
    private readonly Dictionary<int, Queue<ShardSpec>> pending = [];
    private readonly TaskCompletionSource<long> finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HashSet<int> LeasedToOthers { get; init; } = [];

    public byte[] Ledger { get; init; } = [7, 8, 9];

    public ConcurrentQueue<int> Requests { get; } = new();

    public ConcurrentQueue<(int Epoch, long Rows, long Step)> Completed { get; } = new();

    /// <summary>Each completed shard's skipped rows by reason, in completion order.</summary>
    public ConcurrentQueue<(int ShardId, IReadOnlyDictionary<string, long> Skipped)> CompletedSkips { get; } = new();

    public ConcurrentQueue<ReportProgress> Progress { get; } = new();

    public ConcurrentQueue<(long Step, string Path)> Commits { get; } = new();

    public Task<long> Finished => finished.Task;

    public Task<ShardOffer> TryNextShardAsync(int epoch, CancellationToken cancellationToken = default)
    {
        lock (pending)
        {
            Requests.Enqueue(epoch);
            if (LeasedToOthers.Contains(epoch))
            {
                return Task.FromResult(new ShardOffer(null, AllLeased: true));
            }
            if (!pending.TryGetValue(epoch, out var queue))
            {
                queue = new Queue<ShardSpec>(shards);
                pending[epoch] = queue;
            }
            return Task.FromResult(queue.TryDequeue(out var shard) ? new ShardOffer(new ShardLease(epoch, shard), false) : new ShardOffer(null, false));
        }
    }

    public void CompleteShard(ShardLease lease, long rowsConsumed, long step, IReadOnlyDictionary<string, long>? skippedByReason = null, long generation = 0)
    {
        Completed.Enqueue((lease.Epoch, rowsConsumed, step));
        CompletedSkips.Enqueue((lease.Shard.ShardId, SkipCounts.From(skippedByReason)));
    }

    public void ReportProgress(ReportProgress report) => Progress.Enqueue(report);

    public Task<CheckpointCommit> CommitCheckpointAsync(long step, string path, CancellationToken cancellationToken = default)
    {
        Commits.Enqueue((step, path));
        return Task.FromResult(new CheckpointCommit(step, path, Ledger));
    }

    /// <summary>The steps the trainer said it started, in order.</summary>
    public ConcurrentQueue<long> Started { get; } = new();

    /// <summary>The trainer's first report that it stopped a generation: completed step and reason.</summary>
    public Task<(long CompletedStep, string Reason)> Aborted => aborted.Task;

    private readonly TaskCompletionSource<(long, string)> aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReportStepStarted(long generation, long step, IReadOnlyList<LeaseCursor> cursors) => Started.Enqueue(step);

    public void ReportAborted(long generation, long completedStep, string reason, int? lostPeerRank) => aborted.TrySetResult((completedStep, reason));

    public void ReportFinished(long step) => finished.TrySetResult(step);

    public void ReportFailed(string reason, int? lostPeerRank = null) => finished.TrySetException(new InvalidOperationException(reason));
}
