using System.Runtime.CompilerServices;
using MmCluster.Collectives;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// Holds the first exception raised inside the backward of a collective autograd function. libtorch calls that backward
/// from native code, where a managed exception would kill the process; so the function records the failure, returns a zero
/// gradient, and the failure is thrown after <c>loss.backward()</c>: by <see cref="CollectiveAutograd.ThrowIfBackwardFailed"/>,
/// or at the latest by <see cref="GradientAverager"/>. One per group: once a collective of the group failed, the group is
/// broken, so every differentiable collective on it skips its collective.
/// </summary>
internal sealed class BackwardFailure
{
    private static readonly ConditionalWeakTable<ICollectiveGroup, BackwardFailure> ByGroup = new();

    private Exception? failure;

    public static BackwardFailure Of(ICollectiveGroup group) => ByGroup.GetValue(group, _ => new BackwardFailure());

    /// <summary>Forgets the failure of <paramref name="group"/>: it now forwards to a new generation's healthy group.</summary>
    public static void Forget(ICollectiveGroup group) => ByGroup.Remove(group);

    public bool HasFailed => Volatile.Read(ref failure) is not null;

    public void Record(Exception error) => Interlocked.CompareExchange(ref failure, error, null);

    public void ThrowIfFailed(string what)
    {
        switch (Volatile.Read(ref failure))
        {
            case null:
                return;
            case CollectiveException collective:
                throw new CollectiveException($"{what} failed in the backward pass: {collective.Message}", collective);
            case var other:
                throw new CollectiveException($"{what} failed in the backward pass: {other.Message}", null, other);
        }
    }
}
