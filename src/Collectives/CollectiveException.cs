namespace MmCluster.Collectives;

/// <summary>A collective failed: a peer died, fell silent past the deadline, refused the token or is from another generation.</summary>
public sealed class CollectiveException : Exception
{
    public CollectiveException(string message, int? peerRank = null, Exception? inner = null)
        : base(message, inner)
    {
        PeerRank = peerRank;
    }

    /// <summary>The rank of the peer at fault, when known.</summary>
    public int? PeerRank { get; }
}
