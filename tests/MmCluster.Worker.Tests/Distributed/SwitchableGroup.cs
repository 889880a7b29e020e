using MmCluster.Collectives;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>
/// A collective group whose members a recovery replaces under the same object (<see cref="SwitchTo"/>): what the gatherer
/// and averager hold stays, the rank and world they read at each call change.
/// </summary>
internal sealed class SwitchableGroup(ICollectiveGroup first) : ForwardingGroup
{
    private volatile ICollectiveGroup current = first;

    protected override ICollectiveGroup Inner => current;

    public void SwitchTo(ICollectiveGroup next) => current = next;
}
