namespace MmCluster.Collectives;

/// <summary>A collective failed: a peer died, fell silent past the deadline, refused the token or is from another generation.</summary>
public sealed class CollectiveException : Exception
{
    public CollectiveException(string message, int? peerRank = null, Exception? inner = null)
        : base(message, inner)
    {
        PeerRank = peerRank;
    }

    /// <summary>The same failure told again with more context: keeps the cause's peer and whether it refused.</summary>
    public CollectiveException(string message, CollectiveException cause)
        : base(message, cause)
    {
        PeerRank = cause.PeerRank;
        RefusedByPeer = cause.RefusedByPeer;
    }

    /// <summary>The rank of the peer the failure is about (the one that died, aborted, fell silent or refused), when known.</summary>
    public int? PeerRank { get; }

    /// <summary>
    /// The peer is alive and refused this rank's call (a wrong token, another generation): the cause is likely on this
    /// rank's side, so the peer is not to be blamed as lost. False when the peer died, aborted, left or fell silent.
    /// </summary>
    public bool RefusedByPeer { get; init; }

    /// <summary>The peer a failure points at as lost, if any: the first collective failure in the chain that is not a refusal.</summary>
    public static int? LostPeerOf(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is CollectiveException collective)
            {
                return collective.RefusedByPeer ? null : collective.PeerRank;
            }
        }
        return null;
    }
}
