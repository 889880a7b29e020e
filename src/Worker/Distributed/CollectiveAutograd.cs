using MmCluster.Collectives;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// What the differentiable collectives share: the group, and the handling of failures inside backward. libtorch calls a
/// custom backward from native frames, where a managed exception kills the process; so a failed collective there yields
/// a zero gradient, later collectives of the pass are skipped, and <see cref="ThrowIfBackwardFailed"/> (called by the
/// trainer right after <c>loss.backward()</c>, and by <see cref="GradientAverager"/> anyway) throws the
/// <see cref="CollectiveException"/> naming the peer. The failure is looked up at every use, never kept: a recovery
/// forgets it when it puts the next generation's group under the same object (<c>TimedCollectiveGroup.Replace</c>), and
/// a gatherer that outlives the generation must see the new group's clean record.
/// </summary>
public abstract class CollectiveAutograd
{
    protected CollectiveAutograd(ICollectiveGroup group)
    {
        Group = group ?? throw new ArgumentNullException(nameof(group));
    }

    public int Rank => Group.Rank;

    public int WorldSize => Group.WorldSize;

    protected ICollectiveGroup Group { get; }

    /// <summary>Throws the failure of a collective run during a backward pass, if any; the group is then unusable.</summary>
    public void ThrowIfBackwardFailed() => BackwardFailure.Of(Group).ThrowIfFailed($"rank {Rank}: a collective of the all-gather or ring");

    /// <summary>For backward: the collective's gradient, or <paramref name="zeros"/> once any backward collective has failed.</summary>
    protected Tensor GradientOrZeros(Func<Tensor> collective, Func<Tensor> zeros)
    {
        var failure = BackwardFailure.Of(Group);
        if (!failure.HasFailed)
        {
            try
            {
                return collective();
            }
            catch (Exception e)
            {
                failure.Record(e);
            }
        }

        return zeros();
    }
}
