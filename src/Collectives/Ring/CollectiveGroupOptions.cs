namespace MmCluster.Collectives.Ring;

/// <summary>
/// Who this rank is in a gRPC collective group and how to reach the others. Built by the worker from the coordinator's
/// rendezvous (run id, generation, the peers' collective addresses in rank order, the shared secret).
/// </summary>
/// <param name="RunId">The training run; chunks of another run are refused.</param>
/// <param name="Generation">Bumped by the coordinator whenever membership changes; chunks of an older generation are refused.</param>
/// <param name="Rank">This rank, 0 .. W-1.</param>
/// <param name="PeerAddresses">Every rank's collective server address (<c>http://host:port</c>) in rank order, this rank's included.</param>
/// <param name="BearerToken">Shared secret sent as <c>authorization: Bearer</c>; calls without it or with another one are refused.</param>
public sealed record CollectiveGroupOptions(string RunId, long Generation, int Rank, IReadOnlyList<string> PeerAddresses, string BearerToken)
{
    public int WorldSize => PeerAddresses.Count;

    /// <summary>
    /// Every operation fails with <see cref="CollectiveException"/> if it has not completed by then: roomy enough for a
    /// peer's slow step on a loaded machine (its own evaluation or checkpoint happens between two operations).
    /// </summary>
    public TimeSpan OperationDeadline { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Payload bytes per chunk: large enough to amortise per-message cost, small enough to pipeline the ring.</summary>
    public int ChunkBytes { get; init; } = 1 << 20;

    /// <summary>Concurrent HTTP/2 streams (each on its own TCP connection) per ring edge; chunks go round-robin.</summary>
    public int StreamsPerEdge { get; init; } = 2;

    /// <summary>
    /// How payloads travel. <see cref="CollectiveTransport.Auto"/>: each receiver offers its sender a shared-memory ring in
    /// <see cref="SharedMemoryDirectory"/>, used when the sender can open it (same host), else a bulk TCP lane, else inline
    /// gRPC payloads. <see cref="CollectiveTransport.Tcp"/>: the TCP lane with every rank (inline if it cannot be set up).
    /// <see cref="CollectiveTransport.Grpc"/>: always inline.
    /// </summary>
    public CollectiveTransport Transport { get; init; } = CollectiveTransport.Auto;

    /// <summary>
    /// Receive with Grpc.Net.Client (SocketsHttpHandler) instead of the lanes' own HTTP/2 client (<see cref="Http2PullCall"/>):
    /// the reference the lane client is measured against (a worker's <c>--collective-client grpc-net</c>).
    /// </summary>
    public bool ReferenceClient { get; init; }

    /// <summary>The tmpfs directory for same-host rings.</summary>
    public string SharedMemoryDirectory { get; init; } = "/dev/shm";

    /// <summary>Slots of <see cref="ChunkBytes"/> each in a same-host lane's ring: how many chunks may be in flight on it.</summary>
    public int SharedMemorySlots { get; init; } = 8;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(RunId))
        {
            throw new ArgumentException("CollectiveGroupOptions.RunId is empty.");
        }
        if (PeerAddresses.Count == 0)
        {
            throw new ArgumentException("CollectiveGroupOptions.PeerAddresses is empty: list every rank's address, this rank's included.");
        }
        if (Rank < 0 || Rank >= PeerAddresses.Count)
        {
            throw new ArgumentException($"CollectiveGroupOptions.Rank {Rank} is outside 0..{PeerAddresses.Count - 1}.");
        }
        for (var i = 0; i < PeerAddresses.Count; i++)
        {
            if (!Uri.TryCreate(PeerAddresses[i], UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
            {
                throw new ArgumentException($"CollectiveGroupOptions.PeerAddresses[{i}] = '{PeerAddresses[i]}' is not an http://host:port address (h2c).");
            }
        }
        if (string.IsNullOrEmpty(BearerToken))
        {
            throw new ArgumentException("CollectiveGroupOptions.BearerToken is empty: collective calls must carry a shared secret.");
        }
        if (OperationDeadline <= TimeSpan.Zero)
        {
            throw new ArgumentException($"CollectiveGroupOptions.OperationDeadline {OperationDeadline} must be positive.");
        }
        if (ChunkBytes < 1024 || ChunkBytes % sizeof(float) != 0)
        {
            throw new ArgumentException($"CollectiveGroupOptions.ChunkBytes {ChunkBytes} must be a multiple of 4 and at least 1024.");
        }
        if (StreamsPerEdge < 1 || StreamsPerEdge > 16)
        {
            throw new ArgumentException($"CollectiveGroupOptions.StreamsPerEdge {StreamsPerEdge} must be in 1..16.");
        }
        if (SharedMemorySlots < 1 || SharedMemorySlots > 256)
        {
            throw new ArgumentException($"CollectiveGroupOptions.SharedMemorySlots {SharedMemorySlots} must be in 1..256.");
        }
    }
}

/// <summary>How a collective group moves payloads between ranks (<see cref="CollectiveGroupOptions.Transport"/>).</summary>
public enum CollectiveTransport
{
    /// <summary>Shared memory with ranks on the same host, a bulk TCP lane with the others, inline gRPC payloads if neither can be set up.</summary>
    Auto = 0,

    /// <summary>Inline gRPC payloads with every rank.</summary>
    Grpc = 1,

    /// <summary>
    /// A bulk TCP lane (<see cref="TcpLane"/>) with every rank, same host or not, negotiated over the gRPC stream;
    /// inline gRPC payloads on a lane that cannot be set up.
    /// </summary>
    Tcp = 2,
}
