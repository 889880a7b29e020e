namespace MmCluster.Collectives;

/// <summary>
/// A fixed group of W ranks that run collectives together on contiguous float32 buffers. Every rank calls the same
/// operations in the same order. Every call has a deadline: a dead or silent peer makes it throw
/// <see cref="CollectiveException"/> naming the peer, on every rank, never hang.
/// Implementations: the gRPC ring between worker processes (Worker/Collectives) and an in-process one for tests.
/// </summary>
public interface ICollectiveGroup : IAsyncDisposable
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>Every rank gives <paramref name="local"/> of the same length n; <paramref name="output"/> (W·n) receives them in rank order.</summary>
    Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, CancellationToken ct = default);

    /// <summary>
    /// All-gather whose payloads travel as <paramref name="wire"/>: with bf16 every block, this rank's own too, ends rounded
    /// to bf16 (W > 1; alone, nothing travels and nothing is rounded).
    /// </summary>
    Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, WirePrecision wire, CancellationToken ct = default);

    /// <summary>
    /// Every rank gives <paramref name="input"/> of the same length n; rank r receives in <paramref name="output"/> the sum over
    /// ranks of block r (<see cref="BlockPartition"/>). For all-gather's backward, n = W·b and each block is b long.
    /// </summary>
    Task ReduceScatterAsync(ReadOnlyMemory<float> input, Memory<float> output, CancellationToken ct = default);

    /// <summary>In place: every rank ends with the element-wise sum (or mean) of all ranks' buffers.</summary>
    Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken ct = default);

    /// <summary>
    /// All-reduce whose payloads travel as <paramref name="wire"/> (see <see cref="WirePrecision"/>): with bf16, half the
    /// bytes, sums in float32, a result rounded to bf16 and still bit-identical on every rank (W > 1). Every rank must pass the
    /// same; a rank that receives the other precision fails naming the sender.
    /// </summary>
    Task AllReduceAsync(Memory<float> buffer, ReduceOp op, WirePrecision wire, CancellationToken ct = default);

    /// <summary>In place: every rank ends with <paramref name="root"/>'s buffer.</summary>
    Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken ct = default);

    /// <summary>
    /// Ring neighbour exchange: sends <paramref name="send"/> to rank r+1 and receives into <paramref name="receive"/> from rank r-1
    /// (mod W), or the reverse when <paramref name="forward"/> is false. Used by the SigLIP ring and its backward.
    /// </summary>
    Task NeighborExchangeAsync(ReadOnlyMemory<float> send, Memory<float> receive, bool forward = true, CancellationToken ct = default);

    /// <summary>Returns once every rank has entered the barrier.</summary>
    Task BarrierAsync(CancellationToken ct = default);
}
