namespace MmCluster.Collectives.InProcess;

/// <summary>
/// W ranks of one process (one thread or task each) that meet in a shared hub: the reference implementation of
/// <see cref="ICollectiveGroup"/> for fast tests, and the group of a world-size-1 run (where every operation is a local copy).
/// Each call waits at most <see cref="Deadline"/> for the other ranks, then throws <see cref="CollectiveException"/> naming
/// the missing ranks on every rank; a disposed rank makes the others fail at once.
/// </summary>
public sealed class InProcessCollectiveGroup : ICollectiveGroup
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    private readonly InProcessHub hub;
    private long nextSequence = -1;
    private int disposed;

    private InProcessCollectiveGroup(InProcessHub hub, int rank)
    {
        this.hub = hub;
        Rank = rank;
    }

    public int Rank { get; }

    public int WorldSize => hub.WorldSize;

    public TimeSpan Deadline => hub.Deadline;

    /// <summary>Creates the W connected ranks; hand element r to the thread that plays rank r.</summary>
    public static IReadOnlyList<InProcessCollectiveGroup> Create(int worldSize, TimeSpan? deadline = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        var hub = new InProcessHub(worldSize, deadline ?? DefaultDeadline);
        return Enumerable.Range(0, worldSize).Select(r => new InProcessCollectiveGroup(hub, r)).ToArray();
    }

    /// <summary>The group of a single-process run: rank 0 of 1.</summary>
    public static InProcessCollectiveGroup Single() => Create(1)[0];

    public Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, CancellationToken ct = default) =>
        AllGatherAsync(local, output, WirePrecision.Float32, ct);

    /// <summary>With <see cref="WirePrecision.BFloat16"/> every rank's block (its own too) arrives rounded to bf16.</summary>
    public async Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, WirePrecision wire, CancellationToken ct = default)
    {
        RequireLength(nameof(output), output.Length, (long)local.Length * WorldSize);
        RequireDefined(wire);
        var result = await CallAsync(InProcessOp.AllGather, local, (int)wire, output.Length, ct, wire).ConfigureAwait(false);
        result.Span.CopyTo(output.Span);
    }

    public async Task ReduceScatterAsync(ReadOnlyMemory<float> input, Memory<float> output, CancellationToken ct = default)
    {
        RequireLength(nameof(output), output.Length, BlockPartition.Count(input.Length, WorldSize, Rank));
        var result = await CallAsync(InProcessOp.ReduceScatter, input, 0, output.Length, ct).ConfigureAwait(false);
        result.Span.CopyTo(output.Span);
    }

    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken ct = default) =>
        AllReduceAsync(buffer, op, WirePrecision.Float32, ct);

    /// <summary>
    /// With <see cref="WirePrecision.BFloat16"/> each rank's buffer is rounded to bf16, summed in float32 in rank order, and
    /// the result rounded to bf16 again (the gRPC ring rounds its partial sums at every hop instead, so the two differ in the
    /// last bits; both leave every rank with the same values). Alone (W = 1) nothing travels and nothing is rounded.
    /// </summary>
    public async Task AllReduceAsync(Memory<float> buffer, ReduceOp op, WirePrecision wire, CancellationToken ct = default)
    {
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce op");
        }

        RequireDefined(wire);
        var result = await CallAsync(InProcessOp.AllReduce, buffer, (int)op | ((int)wire << 8), buffer.Length, ct, wire).ConfigureAwait(false);
        result.Span.CopyTo(buffer.Span);
    }

    public async Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        var result = await CallAsync(InProcessOp.Broadcast, buffer, root, buffer.Length, ct).ConfigureAwait(false);
        result.Span.CopyTo(buffer.Span);
    }

    public async Task NeighborExchangeAsync(ReadOnlyMemory<float> send, Memory<float> receive, bool forward = true, CancellationToken ct = default)
    {
        if (WorldSize == 1)
        {
            RequireLength(nameof(receive), receive.Length, send.Length);
        }

        var result = await CallAsync(InProcessOp.NeighborExchange, send, forward ? 1 : 0, receive.Length, ct).ConfigureAwait(false);
        result.Span.CopyTo(receive.Span);
    }

    public Task BarrierAsync(CancellationToken ct = default) =>
        CallAsync(InProcessOp.Barrier, ReadOnlyMemory<float>.Empty, 0, 0, ct);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0 && WorldSize > 1)
        {
            hub.Leave(Rank);
        }

        return ValueTask.CompletedTask;
    }

    private async Task<ReadOnlyMemory<float>> CallAsync(InProcessOp kind, ReadOnlyMemory<float> data, int parameter, int outputLength, CancellationToken ct,
        WirePrecision wire = WirePrecision.Float32)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        ct.ThrowIfCancellationRequested();
        if (WorldSize == 1)
        {
            // Alone, every collective returns this rank's own data (an all-reduce mean over one rank is the identity).
            return data;
        }

        var sequence = Interlocked.Increment(ref nextSequence);
        var contribution = data.ToArray();
        if (wire == WirePrecision.BFloat16)
        {
            BFloat16Bits.RoundInPlace(contribution);
        }

        return await hub.JoinAsync(Rank, sequence, new InProcessHub.Contribution(kind, contribution, parameter, outputLength), ct).ConfigureAwait(false);
    }

    private static void RequireDefined(WirePrecision wire)
    {
        if (!Enum.IsDefined(wire))
        {
            throw new ArgumentOutOfRangeException(nameof(wire), wire, "unknown wire precision");
        }
    }

    private static void RequireLength(string name, int actual, long expected)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} holds {actual} floats, expected {expected}", name);
        }
    }
}
