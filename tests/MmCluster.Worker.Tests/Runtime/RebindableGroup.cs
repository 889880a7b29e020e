using MmCluster.Collectives;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>
/// A survivor's view of the collectives across generations: every call goes to <see cref="Inner"/>, which a recovery points
/// at the new generation's group, so the trainer built on the first group steps on in the next.
/// </summary>
internal sealed class RebindableGroup(ICollectiveGroup inner) : ICollectiveGroup
{
    public ICollectiveGroup Inner { get; set; } = inner;

    public int Rank => Inner.Rank;

    public int WorldSize => Inner.WorldSize;

    public Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, CancellationToken ct = default) =>
        Inner.AllGatherAsync(local, output, ct);

    public Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, WirePrecision wire, CancellationToken ct = default) =>
        Inner.AllGatherAsync(local, output, wire, ct);

    public Task ReduceScatterAsync(ReadOnlyMemory<float> input, Memory<float> output, CancellationToken ct = default) =>
        Inner.ReduceScatterAsync(input, output, ct);

    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken ct = default) => Inner.AllReduceAsync(buffer, op, ct);

    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, WirePrecision wire, CancellationToken ct = default) =>
        Inner.AllReduceAsync(buffer, op, wire, ct);

    public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken ct = default) => Inner.BroadcastAsync(buffer, root, ct);

    public Task NeighborExchangeAsync(ReadOnlyMemory<float> send, Memory<float> receive, bool forward = true, CancellationToken ct = default) =>
        Inner.NeighborExchangeAsync(send, receive, forward, ct);

    public Task BarrierAsync(CancellationToken ct = default) => Inner.BarrierAsync(ct);

    public ValueTask DisposeAsync() => Inner.DisposeAsync();
}
