using Grpc.Core;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The groups a worker's collective server currently serves, one per run id: routes each incoming stream to the group of its
/// run and generation, waits a little for a group that has not registered yet (ranks start at slightly different times),
/// and refuses streams of an older generation.
/// </summary>
public sealed class CollectiveRegistry
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, GrpcCollectiveGroup> _groups = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void Register(GrpcCollectiveGroup group)
    {
        lock (_lock)
        {
            if (_groups.TryGetValue(group.RunId, out var current) && current.Generation >= group.Generation)
            {
                throw new InvalidOperationException(
                    $"run '{group.RunId}' already has a group of generation {current.Generation} on this server; a new group needs a higher generation than {group.Generation}.");
            }
            _groups[group.RunId] = group;
            SignalLocked();
        }
    }

    internal void Unregister(GrpcCollectiveGroup group)
    {
        lock (_lock)
        {
            if (_groups.TryGetValue(group.RunId, out var current) && ReferenceEquals(current, group))
            {
                _groups.Remove(group.RunId);
                SignalLocked();
            }
        }
    }

    /// <summary>The group of (run, generation), waiting up to <paramref name="wait"/> for it to register; RpcException otherwise.</summary>
    internal async Task<GrpcCollectiveGroup> ResolveAsync(string runId, long generation, TimeSpan wait, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(wait);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_groups.TryGetValue(runId, out var current))
                {
                    if (current.Generation == generation)
                    {
                        return current;
                    }
                    if (current.Generation > generation)
                    {
                        throw new RpcException(new Status(StatusCode.FailedPrecondition,
                            $"stale generation {generation} for run '{runId}': this worker is at generation {current.Generation}"));
                    }
                }
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"no collective group for run '{runId}' generation {generation} registered on this worker within {wait.TotalMilliseconds:F0} ms"));
            }
        }
    }

    private void SignalLocked()
    {
        _changed.TrySetResult();
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
