using MmCluster.Shared.Collectives;

namespace MmCluster.Worker.Collectives;

/// <summary>
/// Holds the first exception raised inside the backward of a collective autograd function. libtorch calls that backward
/// from native code, where a managed exception would kill the process; so the function records the failure, returns a zero
/// gradient, and the trainer calls <see cref="ThrowIfFailed"/> right after <c>loss.backward()</c>.
/// </summary>
internal sealed class BackwardFailure
{
    private Exception? failure;

    public bool HasFailed => Volatile.Read(ref failure) is not null;

    public void Record(Exception error) => Interlocked.CompareExchange(ref failure, error, null);

    public void ThrowIfFailed(string what)
    {
        switch (Volatile.Read(ref failure))
        {
            case null:
                return;
            case CollectiveException collective:
                throw new CollectiveException($"{what} failed in the backward pass: {collective.Message}", collective.PeerRank, collective);
            case var other:
                throw new CollectiveException($"{what} failed in the backward pass: {other.Message}", null, other);
        }
    }
}
