using System.Runtime.InteropServices;
using Google.Protobuf;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// <see cref="ICollectiveGroup"/> over gRPC between worker processes: ring algorithms, chunked and pipelined.
/// <para>Use: <c>var server = await CollectiveServer.StartAsync("127.0.0.1", 0);</c> on every rank, exchange
/// <c>server.Address</c>, then <c>await using var group = GrpcCollectiveGroup.Create(options, server);</c> with
/// <see cref="CollectiveGroupOptions"/> (run id, generation, rank, every rank's address, bearer token, deadline).</para>
/// <para>Algorithms: all-gather is a ring of W-1 steps; reduce-scatter is a ring of W-1 steps in which rank r ends with block r
/// (<see cref="BlockPartition"/>), summed in the order in[r+1] + in[r+2] + ... + in[r] (left to right, indices mod W);
/// all-reduce is that reduce-scatter followed by the all-gather, as one pipelined ring of 2(W-1) steps (mean divides the
/// finished block by W once); broadcast is pipelined along the ring from the root; barrier is an all-gather of nothing.
/// Each step's block is cut into <see cref="CollectiveGroupOptions.ChunkBytes"/> chunks; a chunk is forwarded as soon as it
/// arrives, over <see cref="CollectiveGroupOptions.StreamsPerEdge"/> streams per edge, sent without copying (UnsafeWrap)
/// and received with one copy (or fused add) into the caller's buffer. Each lane is a PullChunks stream that the receiver
/// opens on the sender, so the bulk data flows Kestrel -> SocketsHttpHandler, the cheaper direction.</para>
/// <para>Failure: every operation has <see cref="CollectiveGroupOptions.OperationDeadline"/>. A dead, silent, refusing or
/// stale peer makes it throw <see cref="CollectiveException"/> naming the peer; the failing rank aborts its streams with the
/// reason, so its neighbours fail at once too. After a failure the group is broken: every later call throws; build a group
/// of the next generation. Operations on one group run one at a time, in the same order on every rank.</para>
/// </summary>
public sealed partial class GrpcCollectiveGroup : ICollectiveGroup
{
    private readonly CollectiveGroupOptions _options;
    private readonly CollectiveServer _server;
    private readonly int _chunkElements;
    private readonly SemaphoreSlim _opLock = new(1, 1);
    private long _nextSeq;
    private float[] _scratch = [];

    private GrpcCollectiveGroup(CollectiveGroupOptions options, CollectiveServer server)
    {
        options.Validate();
        _options = options;
        _server = server;
        _chunkElements = options.ChunkBytes / sizeof(float);
        _inbox = new InboundLanes(options.StreamsPerEdge);
        _outbound = [NewOutboundLanes(options.StreamsPerEdge), NewOutboundLanes(options.StreamsPerEdge)];
        _laneTransports = new LaneTransport?[2, options.StreamsPerEdge];
    }

    public int Rank => _options.Rank;

    private static TaskCompletionSource<OutboundLane>[] NewOutboundLanes(int count)
    {
        return Enumerable.Range(0, count).Select(_ => new TaskCompletionSource<OutboundLane>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
    }

    public int WorldSize => _options.WorldSize;

    internal string RunId => _options.RunId;

    internal long Generation => _options.Generation;

    /// <summary>Creates the group and registers it with <paramref name="server"/> (this rank's own, already started server).</summary>
    public static GrpcCollectiveGroup Create(CollectiveGroupOptions options, CollectiveServer server)
    {
        var group = new GrpcCollectiveGroup(options, server);
        server.Registry.Register(group);
        return group;
    }

    public Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, CancellationToken ct = default)
    {
        return AllGatherAsync(local, output, WirePrecision.Float32, ct);
    }

    public Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, WirePrecision wire, CancellationToken ct = default)
    {
        if (output.Length != WorldSize * local.Length)
        {
            throw new ArgumentException($"all-gather output holds {output.Length} floats; it must hold W·n = {WorldSize}·{local.Length}.", nameof(output));
        }
        RequireDefined(wire);
        var narrowed = wire == WirePrecision.BFloat16 && WorldSize > 1;
        if (!narrowed)
        {
            local.CopyTo(output.Slice(Rank * local.Length, local.Length));
        }
        // bf16: the ring's first step keeps this rank's block rounded (as the others receive it) while it narrows it to send.
        var plan = new RingPlan(WorldSize - 1, 0, 0, output, output, default, Step0Local: narrowed ? local : default);
        return RunAsync(CollectiveOp.AllGather, output.Length, op => RingAsync(op, plan), ct, wire);
    }

    public Task ReduceScatterAsync(ReadOnlyMemory<float> input, Memory<float> output, CancellationToken ct = default)
    {
        var n = input.Length;
        var own = BlockPartition.Count(n, WorldSize, Rank);
        if (output.Length != own)
        {
            throw new ArgumentException($"reduce-scatter output holds {output.Length} floats; rank {Rank} of {WorldSize} receives block {Rank} of {own} of {n}.", nameof(output));
        }
        if (WorldSize == 1)
        {
            input.CopyTo(output);
            return Task.CompletedTask;
        }
        return RunAsync(CollectiveOp.ReduceScatter, n, async op =>
        {
            // Partial sums of the blocks this rank forwards go to a scratch buffer kept for the group's life (operations run one
            // at a time): a fresh large buffer per call cost more in page faults than the ring itself. The last step's block
            // is this rank's own and is summed straight into the output.
            if (_scratch.Length < n)
            {
                _scratch = GC.AllocateUninitializedArray<float>(n);
            }
            var ownOffset = BlockPartition.Offset(n, WorldSize, Rank);
            await RingAsync(op, new RingPlan(WorldSize - 1, WorldSize - 1, -1, input, _scratch.AsMemory(0, n), input,
                LastBlock: output, LastBlockOffset: ownOffset)).ConfigureAwait(false);
        }, ct);
    }

    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, CancellationToken ct = default)
    {
        return AllReduceAsync(buffer, op, WirePrecision.Float32, ct);
    }

    /// <summary>
    /// With <see cref="WirePrecision.BFloat16"/>, every hop of the ring carries bf16: a partial sum is rounded when it is
    /// sent and added in float32 on arrival; the owner of a finished block rounds it (after the mean's division) before it
    /// travels, and keeps the rounded values itself, so every rank ends bit-identical.
    /// </summary>
    public Task AllReduceAsync(Memory<float> buffer, ReduceOp op, WirePrecision wire, CancellationToken ct = default)
    {
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce op");
        }
        RequireDefined(wire);
        var steps = WorldSize - 1;
        var plan = new RingPlan(2 * steps, steps, -1, buffer, buffer, buffer, op == ReduceOp.Mean ? WorldSize : 0f);
        return RunAsync(CollectiveOp.AllReduce, buffer.Length, state => RingAsync(state, plan), ct, wire);
    }

    private static void RequireDefined(WirePrecision wire)
    {
        if (!Enum.IsDefined(wire))
        {
            throw new ArgumentOutOfRangeException(nameof(wire), wire, "unknown wire precision");
        }
    }

    public Task BroadcastAsync(Memory<float> buffer, int root, CancellationToken ct = default)
    {
        if (root < 0 || root >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), $"broadcast root {root} is outside 0..{WorldSize - 1}.");
        }
        return RunAsync(CollectiveOp.Broadcast, buffer.Length, op => BroadcastChainAsync(op, buffer, root), ct);
    }

    public Task NeighborExchangeAsync(ReadOnlyMemory<float> send, Memory<float> receive, bool forward = true, CancellationToken ct = default)
    {
        if (WorldSize == 1)
        {
            if (receive.Length != send.Length)
            {
                throw new ArgumentException($"neighbour exchange with itself: receive holds {receive.Length} floats, send {send.Length}.", nameof(receive));
            }
            send.CopyTo(receive);
            return Task.CompletedTask;
        }
        var direction = forward ? RingDirection.Forward : RingDirection.Backward;
        return RunAsync(CollectiveOp.NeighborExchange, send.Length, op => ExchangeAsync(op, direction, send, receive), ct);
    }

    public Task BarrierAsync(CancellationToken ct = default)
    {
        return RunAsync(CollectiveOp.Barrier, 0, op => RingAsync(op, new RingPlan(WorldSize - 1, 0, 0, Memory<float>.Empty, Memory<float>.Empty, default)), ct);
    }

    /// <summary>
    /// One ring: at step s this rank sends block (rank + shift - s) and receives block (rank + shift - s - 1) (mod W), the
    /// block it forwards at step s + 1. Steps below <see cref="RingPlan.ReduceSteps"/> add the received chunk to this rank's
    /// own <see cref="RingPlan.Addend"/>; the later ones copy it.
    /// </summary>
    private async Task RingAsync(OpState op, RingPlan plan)
    {
        if (plan.Steps == 0)
        {
            return;
        }
        var n = plan.Work.Length;
        var sender = OpenSender(op, RingDirection.Forward);
        var left = Neighbor(RingDirection.Forward, incoming: true);
        var sendIndex = 0;
        var receiveIndex = 0;
        var firstBlock = Mod(Rank + plan.Shift);
        var firstCount = BlockPartition.Count(n, WorldSize, firstBlock);
        var firstOffset = BlockPartition.Offset(n, WorldSize, firstBlock);
        for (var c = 0; c < ChunkCount(firstCount); c++)
        {
            var (offset, count) = ChunkRange(firstCount, c);
            if (op.Wire == WirePrecision.BFloat16 && !plan.Step0Local.IsEmpty)
            {
                // All-gather: this rank's block is kept rounded and sent narrowed, in one pass over the caller's input.
                var pooled = RentWire(count, out var bits);
                BFloat16Bits.NarrowRounded(plan.Step0Local.Span.Slice(offset, count), plan.Work.Span.Slice(firstOffset + offset, count), bits);
                sender.Enqueue(sendIndex++, NarrowedFrame(op, 0, c, pooled, count));
            }
            else
            {
                sender.Enqueue(sendIndex++, Frame(op, 0, c, plan.Step0Source.Slice(firstOffset + offset, count)));
            }
        }
        for (var s = 0; s < plan.Steps; s++)
        {
            var block = Mod(Rank + plan.Shift - s - 1);
            var blockCount = BlockPartition.Count(n, WorldSize, block);
            var blockOffset = BlockPartition.Offset(n, WorldSize, block);
            var forwards = s + 1 < plan.Steps;
            for (var c = 0; c < ChunkCount(blockCount); c++)
            {
                var (offset, count) = ChunkRange(blockCount, c);
                var frame = await ReceiveAsync(op, RingDirection.Forward, receiveIndex++, left, s, c, count).ConfigureAwait(false);
                var target = s == plan.Steps - 1 && !plan.LastBlock.IsEmpty
                    ? plan.LastBlock.Span.Slice(blockOffset - plan.LastBlockOffset + offset, count)
                    : plan.Work.Span.Slice(blockOffset + offset, count);
                var reduce = s < plan.ReduceSteps;
                var own = reduce ? plan.Addend.Span.Slice(blockOffset + offset, count) : default;
                var divisor = s == plan.ReduceSteps - 1 ? plan.Divisor : 0f;
                OutgoingChunk? next = null;
                if (op.Wire == WirePrecision.BFloat16)
                {
                    var received = MemoryMarshal.Cast<byte, ushort>(frame.Payload);
                    if (forwards && reduce)
                    {
                        // A partial sum, or (last reducing step) a finished block, that travels on: rounded once, kept as
                        // sent, so every rank ends with the same values.
                        var pooled = RentWire(count, out var bits);
                        BFloat16Bits.WidenCombineNarrow(received, own, divisor, target, bits);
                        next = NarrowedFrame(op, s + 1, c, pooled, count);
                    }
                    else
                    {
                        Combine(received, reduce, own, divisor, target);
                        if (forwards)
                        {
                            var pooled = RentWire(count, out var bits);
                            received.CopyTo(bits); // already bf16: forwarded as it came
                            next = NarrowedFrame(op, s + 1, c, pooled, count);
                        }
                    }
                }
                else
                {
                    Combine(MemoryMarshal.Cast<byte, float>(frame.Payload), reduce, own, divisor, target);
                    if (forwards)
                    {
                        next = Frame(op, s + 1, c, plan.Work.Slice(blockOffset + offset, count));
                    }
                }
                frame.Release();
                if (next is { } chunk)
                {
                    sender.Enqueue(sendIndex++, chunk);
                }
            }
        }
        await sender.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Pipelined chain root -> root+1 -> ... -> root-1: each rank forwards a chunk as soon as it has it.</summary>
    private async Task BroadcastChainAsync(OpState op, Memory<float> buffer, int root)
    {
        if (WorldSize == 1)
        {
            return;
        }
        var distance = Mod(Rank - root);
        var forwards = distance < WorldSize - 1;
        var sender = forwards ? OpenSender(op, RingDirection.Forward) : null;
        var left = Neighbor(RingDirection.Forward, incoming: true);
        for (var c = 0; c < ChunkCount(buffer.Length); c++)
        {
            var (offset, count) = ChunkRange(buffer.Length, c);
            if (distance > 0)
            {
                var frame = await ReceiveAsync(op, RingDirection.Forward, c, left, 0, c, count).ConfigureAwait(false);
                MemoryMarshal.Cast<byte, float>(frame.Payload).CopyTo(buffer.Span.Slice(offset, count));
                frame.Release();
            }
            sender?.Enqueue(c, Frame(op, 0, c, buffer.Slice(offset, count)));
        }
        if (sender is not null)
        {
            await sender.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task ExchangeAsync(OpState op, RingDirection direction, ReadOnlyMemory<float> send, Memory<float> receive)
    {
        var sender = OpenSender(op, direction);
        for (var c = 0; c < ChunkCount(send.Length); c++)
        {
            var (offset, count) = ChunkRange(send.Length, c);
            sender.Enqueue(c, Frame(op, 0, c, send.Slice(offset, count)));
        }
        var from = Neighbor(direction, incoming: true);
        for (var c = 0; c < ChunkCount(receive.Length); c++)
        {
            var (offset, count) = ChunkRange(receive.Length, c);
            var frame = await ReceiveAsync(op, direction, c, from, 0, c, count, receive.Length).ConfigureAwait(false);
            MemoryMarshal.Cast<byte, float>(frame.Payload).CopyTo(receive.Span.Slice(offset, count));
            frame.Release();
        }
        await sender.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>A received chunk into <paramref name="target"/>: copied, or added to <paramref name="own"/> (then divided when <paramref name="divisor"/> is not 0).</summary>
    private static void Combine(ReadOnlySpan<float> received, bool reduce, ReadOnlySpan<float> own, float divisor, Span<float> target)
    {
        if (!reduce)
        {
            received.CopyTo(target);
        }
        else if (divisor != 0f)
        {
            FloatBytes.AddDivide(received, own, divisor, target);
        }
        else
        {
            FloatBytes.Add(received, own, target);
        }
    }

    private static void Combine(ReadOnlySpan<ushort> received, bool reduce, ReadOnlySpan<float> own, float divisor, Span<float> target)
    {
        if (!reduce)
        {
            BFloat16Bits.Widen(received, target);
        }
        else if (divisor != 0f)
        {
            BFloat16Bits.WidenAddDivide(received, own, divisor, target);
        }
        else
        {
            BFloat16Bits.WidenAdd(received, own, target);
        }
    }

    /// <summary>
    /// The frame of one chunk. Float32 payloads are sent without copying (the caller's buffer is wrapped); bf16 ones are
    /// narrowed into a pooled buffer that goes back to the pool once the frame is written.
    /// </summary>
    private OutgoingChunk Frame(OpState op, int step, int chunk, ReadOnlyMemory<float> payload)
    {
        var frame = Header(op, step, chunk);
        if (op.Wire == WirePrecision.Float32 || payload.IsEmpty)
        {
            frame.Payload = UnsafeByteOperations.UnsafeWrap(FloatBytes.AsBytes(payload));
            return new OutgoingChunk(frame, null);
        }
        var pooled = RentWire(payload.Length, out var bits);
        BFloat16Bits.Narrow(payload.Span, bits);
        return NarrowedFrame(op, step, chunk, pooled, payload.Length);
    }

    /// <summary>A pooled buffer for <paramref name="count"/> bf16 values, and those values as a span.</summary>
    private static byte[] RentWire(int count, out Span<ushort> bits)
    {
        var pooled = ChunkBuffers.Shared.Rent(count * sizeof(ushort));
        bits = MemoryMarshal.Cast<byte, ushort>(pooled.AsSpan(0, count * sizeof(ushort)));
        return pooled;
    }

    /// <summary>The frame of a chunk already narrowed to bf16 in <paramref name="pooled"/> (returned to the pool once written).</summary>
    private OutgoingChunk NarrowedFrame(OpState op, int step, int chunk, byte[] pooled, int count)
    {
        var frame = Header(op, step, chunk);
        frame.Payload = UnsafeByteOperations.UnsafeWrap(pooled.AsMemory(0, count * sizeof(ushort)));
        return new OutgoingChunk(frame, pooled);
    }

    private ChunkFrame Header(OpState op, int step, int chunk)
    {
        return new ChunkFrame
        {
            RunId = _options.RunId,
            Generation = _options.Generation,
            SourceRank = Rank,
            OpSeq = op.Seq,
            Op = op.Kind,
            Step = step,
            Chunk = chunk,
            TotalElements = op.TotalElements,
            Dtype = op.DType,
        };
    }

    private int ChunkCount(int elements)
    {
        return Math.Max(1, (elements + _chunkElements - 1) / _chunkElements);
    }

    private (int Offset, int Count) ChunkRange(int elements, int chunk)
    {
        var offset = chunk * _chunkElements;
        return (offset, Math.Min(_chunkElements, elements - offset));
    }

    private int Mod(int value)
    {
        return ((value % WorldSize) + WorldSize) % WorldSize;
    }

    /// <summary>
    /// What a ring moves: see <see cref="RingAsync"/>. Divisor 0 = no division after the last reducing step. A non-empty
    /// <see cref="LastBlock"/> receives the last step's block (which starts at <see cref="LastBlockOffset"/> of the buffer)
    /// instead of <see cref="Work"/>; only valid when that block is not forwarded, as in reduce-scatter. A non-empty
    /// <see cref="Step0Local"/> (a bf16 all-gather) is this rank's input: the first step rounds it into its block of
    /// <see cref="Work"/> while narrowing it to send, instead of sending <see cref="Step0Source"/>.
    /// </summary>
    private readonly record struct RingPlan(int Steps, int ReduceSteps, int Shift, ReadOnlyMemory<float> Step0Source, Memory<float> Work,
        ReadOnlyMemory<float> Addend, float Divisor = 0f, Memory<float> LastBlock = default, int LastBlockOffset = 0,
        ReadOnlyMemory<float> Step0Local = default);
}
