namespace MmCluster.Collectives.InProcess;

/// <summary>
/// The rendezvous point shared by the W ranks of an <see cref="InProcessCollectiveGroup"/>. Every rank numbers its calls
/// 0, 1, 2, ...; the k-th calls of all ranks meet in one rendezvous, and the last to arrive combines the contributions
/// for everyone. A rank that misses the deadline, cancels, leaves or calls a different operation poisons the hub: every
/// pending and later call fails with the same <see cref="CollectiveException"/>, naming the peer at fault.
/// </summary>
internal sealed class InProcessHub
{
    private readonly object gate = new();
    private readonly Dictionary<long, Rendezvous> pending = new();
    private CollectiveException? failure;

    public InProcessHub(int worldSize, TimeSpan deadline)
    {
        WorldSize = worldSize;
        Deadline = deadline;
    }

    public int WorldSize { get; }

    public TimeSpan Deadline { get; }

    /// <summary>Adds this rank's contribution to its <paramref name="sequence"/>-th call and waits for this rank's result.</summary>
    public async Task<float[]> JoinAsync(int rank, long sequence, Contribution contribution, CancellationToken ct)
    {
        Rendezvous rendezvous;
        var complete = false;
        lock (gate)
        {
            if (failure is not null)
            {
                throw new CollectiveException($"rank {rank}: {contribution.Kind} #{sequence} refused, the group already failed: {failure.Message}", failure);
            }

            if (!pending.TryGetValue(sequence, out var found))
            {
                found = new Rendezvous(contribution.Kind, WorldSize);
                pending[sequence] = found;
            }

            rendezvous = found;
            rendezvous.Contributions[rank] = contribution;
            rendezvous.Arrived++;
            if (rendezvous.Arrived == WorldSize)
            {
                pending.Remove(sequence);
                complete = true;
            }
        }

        if (complete)
        {
            try
            {
                rendezvous.Done.TrySetResult(InProcessCombiner.Combine(rendezvous.Contributions!, sequence));
            }
            catch (CollectiveException e)
            {
                rendezvous.Done.TrySetException(Fail(e));
            }
        }

        try
        {
            var results = await rendezvous.Done.Task.WaitAsync(Deadline, ct).ConfigureAwait(false);
            return results[rank];
        }
        catch (TimeoutException)
        {
            throw Fail(TimedOut(rank, sequence, rendezvous));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Fail(new CollectiveException($"rank {rank} cancelled {contribution.Kind} #{sequence}", rank));
            throw;
        }
    }

    /// <summary>A rank disposed its group: whoever waits for it, now or later, fails at once instead of at the deadline.</summary>
    public void Leave(int rank)
    {
        Fail(new CollectiveException($"rank {rank} left the group", rank));
    }

    private CollectiveException TimedOut(int rank, long sequence, Rendezvous rendezvous)
    {
        int[] missing;
        lock (gate)
        {
            missing = Enumerable.Range(0, WorldSize).Where(r => rendezvous.Contributions[r] is null).ToArray();
        }

        var names = missing.Length == 0 ? "no rank (combining was slow)" : "rank(s) " + string.Join(", ", missing);
        return new CollectiveException(
            $"{rendezvous.Kind} #{sequence}: {names} did not join within {Deadline.TotalSeconds:0.###} s (seen by rank {rank})",
            missing.Length == 0 ? null : missing[0]);
    }

    private CollectiveException Fail(CollectiveException error)
    {
        Rendezvous[] waiting;
        lock (gate)
        {
            failure ??= error;
            waiting = pending.Values.ToArray();
            pending.Clear();
        }

        foreach (var rendezvous in waiting)
        {
            rendezvous.Done.TrySetException(failure);
        }

        return failure;
    }

    /// <summary>One rank's part of a call: its data, the call's parameter (root, reduce op, direction) and the length it expects back.</summary>
    internal sealed record Contribution(InProcessOp Kind, float[] Data, int Parameter, int OutputLength);

    private sealed class Rendezvous
    {
        public Rendezvous(InProcessOp kind, int worldSize)
        {
            Kind = kind;
            Contributions = new Contribution?[worldSize];
        }

        public InProcessOp Kind { get; }

        public Contribution?[] Contributions { get; }

        public int Arrived { get; set; }

        public TaskCompletionSource<float[][]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
