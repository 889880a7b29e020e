using MmCluster.Collectives;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>A collective group that forwards every call to <see cref="Inner"/>; test doubles override what they watch or change.</summary>
internal abstract class ForwardingGroup : ICollectiveGroup
{
    protected abstract ICollectiveGroup Inner { get; }

    public int Rank => Inner.Rank;

    public int WorldSize => Inner.WorldSize;

    public virtual Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, CancellationToken ct = default) =>
        Inner.AllGatherAsync(local, output, ct);

    public virtual Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, WirePrecision wire, CancellationToken ct = default) =>
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

    public virtual ValueTask DisposeAsync() => Inner.DisposeAsync();
}
