using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// How a worker process serves and joins collectives, bound once from its command line and environment: where its
/// <see cref="CollectiveServer"/> listens, the run's shared secret it demands of every call (and its groups send), and how
/// its groups move payloads and receive them.
/// </summary>
public sealed record CollectiveServerOptions
{
    /// <summary>An IP address, or "localhost" for loopback.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 lets the OS choose; <see cref="CollectiveServer.Address"/> reports the bound one.</summary>
    public int Port { get; init; }

    /// <summary>The run's shared secret: every collective call must carry it (<c>authorization: Bearer</c>), or is refused at once.</summary>
    public required string BearerToken { get; init; }

    /// <summary>What this process's groups use (<see cref="CollectiveGroupOptions.Transport"/>).</summary>
    public CollectiveTransport Transport { get; init; } = CollectiveTransport.Auto;

    /// <summary>Whether this process's groups receive with Grpc.Net.Client (<see cref="CollectiveGroupOptions.ReferenceClient"/>).</summary>
    public bool ReferenceClient { get; init; }

    /// <summary>Where the server logs what it refuses outside gRPC: connections to its TCP lane listener without a valid hello.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(BearerToken))
        {
            throw new ArgumentException("the collectives need the run's shared secret (--token or MMCLUSTER_TOKEN): every call between workers carries it");
        }
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"collective server port {Port} is outside 0..65535");
        }
    }
}
