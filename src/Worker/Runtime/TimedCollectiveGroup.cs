using System.Diagnostics;
using MmCluster.Collectives;

namespace MmCluster.Worker.Runtime;

/// <summary>Measures the wall time spent inside collectives (for the dashboard's "time in collectives").</summary>
/// <remarks>
/// A stage's trainer holds this one object for the whole stage; a recovery puts the next generation's group in it
/// (<see cref="Replace"/>), so the averager, the losses' gatherers and the evaluation follow without being rebuilt. They
/// read <see cref="Rank"/> and <see cref="WorldSize"/> at every call.
/// </remarks>
internal sealed class TimedCollectiveGroup(ICollectiveGroup inner) : ICollectiveGroup
{
    private long ticks;

    /// <summary>The generation's group this one forwards to.</summary>
    public ICollectiveGroup Inner => inner;

    /// <summary>
    /// Forwards to <paramref name="next"/> from now on (a new generation) and forgets a failure recorded in the backward
    /// pass of the previous one; returns the previous group for the caller to dispose.
    /// </summary>
    public ICollectiveGroup Replace(ICollectiveGroup next)
    {
        var previous = inner;
        inner = next;
        Distributed.BackwardFailure.Forget(this);
        return previous;
    }

    public int Rank => inner.Rank;

    public int WorldSize => inner.WorldSize;

    /// <summary>Total time spent in collectives so far.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref ticks));

    public Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, CancellationToken ct = default) =>
        Time(inner.AllGatherAsync(local, output, ct));

    public Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, WirePrecision wire, CancellationToken ct = default) =>
        Time(inner.AllGatherAsync(local, output, wire, ct));

    public Task ReduceScatterAsync(ReadOnlyMemory<float> input, Memory<float> output, CancellationToken ct = default) =>
        Time(inner.ReduceScatterAsync(input, output, ct));

    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken ct = default) =>
        Time(inner.AllReduceAsync(buffer, op, ct));

    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, WirePrecision wire, CancellationToken ct = default) =>
        Time(inner.AllReduceAsync(buffer, op, wire, ct));

    public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken ct = default) =>
        Time(inner.BroadcastAsync(buffer, root, ct));

    public Task NeighborExchangeAsync(ReadOnlyMemory<float> send, Memory<float> receive, bool forward = true, CancellationToken ct = default) =>
        Time(inner.NeighborExchangeAsync(send, receive, forward, ct));

    public Task BarrierAsync(CancellationToken ct = default) => Time(inner.BarrierAsync(ct));

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async Task Time(Task operation)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            await operation.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Add(ref ticks, Stopwatch.GetTimestamp() - start);
        }
    }
}
