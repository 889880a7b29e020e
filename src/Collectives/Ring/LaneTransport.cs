namespace MmCluster.Collectives.Ring;

/// <summary>
/// How one inbound lane of a <see cref="GrpcCollectiveGroup"/> carries payloads: <see cref="LanePayloads.SharedMemory"/> (a
/// same-host ring the sender accepted), <see cref="LanePayloads.Tcp"/> (a bulk TCP socket) or inline in the gRPC stream,
/// with <see cref="Description"/> saying why, e.g. <c>grpc (refused: this rank's transport is grpc)</c>.
/// </summary>
/// <param name="Edge">The ring direction and lane index, e.g. <c>Forward/0</c>.</param>
public sealed record LaneTransport(string Edge, LanePayloads Payloads, string Description)
{
    public bool SharedMemory => Payloads == LanePayloads.SharedMemory;

    public bool Tcp => Payloads == LanePayloads.Tcp;

    /// <summary>The short name the bench and logs use: shm, tcp or grpc.</summary>
    public string Kind => Payloads switch
    {
        LanePayloads.SharedMemory => "shm",
        LanePayloads.Tcp => "tcp",
        _ => "grpc",
    };

    internal static LaneTransport Inline(RingDirection direction, int lane, string reason)
    {
        return new LaneTransport($"{direction}/{lane}", LanePayloads.Inline, $"grpc ({reason})");
    }

    public override string ToString()
    {
        return $"{Edge}: {Description}";
    }
}

/// <summary>Where a lane's payloads travel (<see cref="LaneTransport.Payloads"/>).</summary>
public enum LanePayloads
{
    /// <summary>Inside the gRPC stream's messages.</summary>
    Inline = 0,

    /// <summary>In a same-host shared-memory ring; the stream carries slot numbers.</summary>
    SharedMemory = 1,

    /// <summary>On the lane's bulk TCP socket; the stream carries only control (aborts, the end).</summary>
    Tcp = 2,
}
