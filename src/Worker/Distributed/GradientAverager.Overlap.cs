using MmCluster.Collectives;
using MmCluster.Worker.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// Averaging overlapped with backward (DDP's way): the first step averages after backward and notes the order in which
/// the model's blocks were first entered (<see cref="GradientReady"/>); from then on the dense gradients are bucketed in
/// the reverse of that order (backward's order), each bucket holding the parameters of whole blocks, and a bucket's
/// all-reduce is launched from inside backward as soon as backward has left the earliest-entered of its blocks. Buckets
/// launch in their fixed order only, so every rank issues the same collectives in the same order; the parameters no
/// block owns (embeddings, heads, the logit scale) and the row-sparse tables are averaged after backward, as before. The
/// means are those of the non-overlapped path: an element's mean does not depend on which bucket carries it.
/// </summary>
public sealed partial class GradientAverager : GradientReady.IBlockListener
{
    /// <summary>Buckets of about this many bytes while overlapping, so a small model still gets several.</summary>
    public const long OverlapBucketBytes = 2L * 1024 * 1024;

    private readonly bool overlapWithBackward;
    private readonly Dictionary<nn.Module, int> entered = new(ReferenceEqualityComparer.Instance);
    private bool overlapping;
    private int nextLaunch;

    /// <summary>True once the buckets follow backward's order and launch during it (from the second step on).</summary>
    public bool Overlapping => overlapping;

    /// <summary>Buckets whose all-reduce was launched during the last backward (the rest were launched after it).</summary>
    public int LaunchedDuringBackward { get; private set; }

    /// <summary>
    /// Starts a step on the training thread: this averager listens to the blocks' <see cref="GradientReady.Enter"/> calls
    /// of the coming forward and backward. Without overlap, or on one rank, it does nothing.
    /// </summary>
    public void BeginStep()
    {
        if (!overlapWithBackward || group.WorldSize == 1)
        {
            return;
        }
        ObserveUnfinished();
        entered.Clear();
        nextLaunch = 0;
        LaunchedDuringBackward = 0;
        GradientReady.Listen(this);
    }

    /// <summary>
    /// A new generation: the next step averages after backward again and plans the overlap anew from it, on every rank of
    /// the generation alike (a replacement's averager is new, so the survivors' must not keep their plan).
    /// </summary>
    public void RestartOverlap()
    {
        GradientReady.Forget(this);
        ObserveUnfinished();
        entered.Clear();
        nextLaunch = 0;
        if (!overlapping)
        {
            return;
        }
        DisposeBuckets();
        buckets = Plan([.. trainable.Where(p => !IsRowSparse(p))], bucketCapacity, staging);
        overlapping = false;
    }

    int? GradientReady.IBlockListener.Entered(nn.Module block)
    {
        if (entered.ContainsKey(block))
        {
            return null;
        }
        var index = entered.Count;
        entered[block] = index;
        return index;
    }

    void GradientReady.IBlockListener.Left(int index)
    {
        if (!overlapping || buckets is not { } planned)
        {
            return;
        }
        try
        {
            while (nextLaunch < planned.Length && planned[nextLaunch].Owners.Length > 0 && EarliestEntry(planned[nextLaunch]) >= index)
            {
                Launch(planned[nextLaunch++]);
                LaunchedDuringBackward++;
            }
        }
        catch (Exception e)
        {
            // Called from libtorch's backward, where a managed exception would end the process: the averaging rethrows it.
            BackwardFailure.Of(group).Record(e);
        }
    }

    /// <summary>The smallest entry index of the bucket's blocks in this step; -1 if one of them was not entered (not ready early).</summary>
    private int EarliestEntry(Bucket bucket)
    {
        var earliest = int.MaxValue;
        foreach (var block in bucket.Owners)
        {
            if (!entered.TryGetValue(block, out var index))
            {
                return -1;
            }
            earliest = Math.Min(earliest, index);
        }
        return earliest;
    }

    private void Launch(Bucket bucket)
    {
        bucket.Pack();
        SnapshotAtLaunch(bucket);
        // Called on this thread, not scheduled: the collective joins the group's queue now, in the same order on every rank.
        bucket.Launched = group.AllReduceAsync(TensorMemory.Of(bucket.Flat), ReduceOp.Mean, wire);
    }

    /// <summary>After backward: launches what is left, in order, waits for every bucket in order and unpacks.</summary>
    private void FinishOverlapped(Bucket[] planned)
    {
        GradientReady.Forget(this);
        while (nextLaunch < planned.Length)
        {
            Launch(planned[nextLaunch++]);
        }
        foreach (var bucket in planned)
        {
            var launched = bucket.Launched!;
            bucket.Launched = null;
            TensorCollectives.Wait(() => launched);
            CheckUnchangedSinceLaunch(bucket);
            bucket.Unpack();
        }
    }

    /// <summary>
    /// After the first step's averaging: plans the overlapped buckets from the blocks entered in it. Each dense trainable
    /// parameter belongs to the last-entered block that holds it; owned parameters go in reverse entry order, whole
    /// blocks per bucket; the others follow in their own buckets. Without any block seen, nothing changes.
    /// </summary>
    private void PlanOverlap()
    {
        if (!overlapWithBackward || group.WorldSize == 1 || overlapping || entered.Count == 0)
        {
            return;
        }
        GradientReady.Forget(this);
        var dense = trainable.Where(p => !IsRowSparse(p)).ToArray();
        var owner = new nn.Module?[dense.Length];
        foreach (var (block, _) in entered.OrderBy(kv => kv.Value))
        {
            foreach (var parameter in block.parameters())
            {
                for (var i = 0; i < dense.Length; i++)
                {
                    if (TensorMemory.SameData(dense[i], parameter))
                    {
                        owner[i] = block;   // later-entered blocks win: the innermost holder
                    }
                }
            }
        }
        var capacity = Math.Min(bucketCapacity, OverlapBucketBytes / sizeof(float));
        var groups = new List<(List<Tensor> Members, long Size, List<nn.Module> Owners)>();
        foreach (var block in entered.OrderByDescending(kv => kv.Value).Select(kv => kv.Key))
        {
            var members = dense.Where((_, i) => ReferenceEquals(owner[i], block)).ToList();
            if (members.Count == 0)
            {
                continue;
            }
            var size = members.Sum(p => p.numel());
            if (groups.Count == 0 || groups[^1].Size + size > capacity)
            {
                groups.Add(([], 0, []));
            }
            var last = groups[^1];
            last.Members.AddRange(members);
            last.Owners.Add(block);
            groups[^1] = last with { Size = last.Size + size };
        }
        var unowned = dense.Where((_, i) => owner[i] is null).ToArray();
        DisposeBuckets();
        buckets = [.. groups.Select(g => new Bucket(g.Members, g.Size, staging, [.. g.Owners])), .. Plan(unowned, bucketCapacity, staging)];
        overlapping = true;
    }

    /// <summary>A step that failed left launched all-reduces behind: their outcome is observed here, never rethrown.</summary>
    private void ObserveUnfinished()
    {
        foreach (var bucket in buckets ?? [])
        {
            bucket.Launched?.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            bucket.Launched = null;
            bucket.PackedAtLaunch?.Dispose();
            bucket.PackedAtLaunch = null;
        }
    }

    [System.Diagnostics.Conditional("DEBUG")]
    private static void SnapshotAtLaunch(Bucket bucket)
    {
        bucket.PackedAtLaunch?.Dispose();
        bucket.PackedAtLaunch = bucket.Flat.clone().DetachFromDisposeScope();
    }

    /// <summary>Debug builds (the tests) prove the ready signal: no gradient of a bucket changed after its launch.</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    private static void CheckUnchangedSinceLaunch(Bucket bucket)
    {
        if (bucket.PackedAtLaunch is not { } packed)
        {
            return;
        }
        using var scope = NewDisposeScope();
        var now = zeros_like(packed);
        bucket.PackInto(now);
        if (!now.allclose(packed, rtol: 0, atol: 0))
        {
            throw new InvalidOperationException(
                $"a gradient of the bucket of {string.Join(", ", bucket.Owners.Select(o => o.GetName()))} changed after its all-reduce was launched during backward");
        }
        packed.Dispose();
        bucket.PackedAtLaunch = null;
    }
}
