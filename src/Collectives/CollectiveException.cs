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
        PeerAnswered = cause.PeerAnswered;
    }

    /// <summary>The rank of the peer the failure is about (the one that died, aborted, fell silent or refused), when known.</summary>
    public int? PeerRank { get; }

    /// <summary>
    /// The peer is alive and answered: it refused this rank's call (a wrong token, another generation; the cause is likely
    /// on this rank's side) or aborted on a failure of its own (which it reports itself). Either way it is not lost. False
    /// when the peer died, left, its stream broke or it fell silent.
    /// </summary>
    public bool PeerAnswered { get; init; }

    /// <summary>The peer a failure points at as lost, if any: the first collective failure in the chain, unless its peer answered.</summary>
    public static int? LostPeerOf(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is CollectiveException collective)
            {
                return collective.PeerAnswered ? null : collective.PeerRank;
            }
        }
        return null;
    }
}
