namespace MmCluster.Collectives.InProcess;

/// <summary>The operations of <see cref="ICollectiveGroup"/>, for rendezvous bookkeeping and error messages.</summary>
internal enum InProcessOp
{
    AllGather,
    ReduceScatter,
    AllReduce,
    Broadcast,
    NeighborExchange,
    Barrier,
}
