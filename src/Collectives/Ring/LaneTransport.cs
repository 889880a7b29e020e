namespace MmCluster.Collectives.Ring;

/// <summary>
/// How one inbound lane of a <see cref="GrpcCollectiveGroup"/> carries payloads: <see cref="SharedMemory"/> (a same-host
/// ring the sender accepted) or inline in the gRPC stream, with <see cref="Description"/> saying why, e.g.
/// <c>grpc (refused: this rank's transport is grpc)</c>.
/// </summary>
/// <param name="Edge">The ring direction and lane index, e.g. <c>Forward/0</c>.</param>
public sealed record LaneTransport(string Edge, bool SharedMemory, string Description)
{
    internal static LaneTransport Inline(RingDirection direction, int lane, string reason)
    {
        return new LaneTransport($"{direction}/{lane}", SharedMemory: false, $"grpc ({reason})");
    }

    public override string ToString()
    {
        return $"{Edge}: {Description}";
    }
}
