using System.Threading.Channels;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>Per-operation state: the sequence number every chunk carries, the deadline token, the senders to drain.</summary>
public sealed partial class GrpcCollectiveGroup
{
    private sealed class OpState(long seq, CollectiveOp kind, long totalElements, WirePrecision wire, CancellationToken token)
    {
        public long Seq { get; } = seq;

        public CollectiveOp Kind { get; } = kind;

        public long TotalElements { get; } = totalElements;

        /// <summary>How the payloads of this operation travel; every chunk must carry the matching dtype.</summary>
        public WirePrecision Wire { get; } = wire;

        public ChunkDType DType => Wire == WirePrecision.BFloat16 ? ChunkDType.Bfloat16 : ChunkDType.Float32;

        public int BytesPerElement => Wire == WirePrecision.BFloat16 ? sizeof(ushort) : sizeof(float);

        public CancellationToken Token { get; } = token;

        public List<OpSender> Senders { get; } = [];

        /// <summary>What the operation is blocked on, for the timeout message.</summary>
        public string Waiting { get; set; } = "before any chunk moved";

        public int? WaitingPeer { get; set; }

        public async Task DrainAsync()
        {
            foreach (var sender in Senders)
            {
                await sender.DrainAsync().ConfigureAwait(false);
            }
        }

        public override string ToString()
        {
            return Wire == WirePrecision.Float32 ? $"{Kind} #{Seq} of {TotalElements} floats" : $"{Kind} #{Seq} of {TotalElements} floats ({Wire} on the wire)";
        }
    }

    /// <summary>
    /// The chunks an operation sends along one edge: chunk i goes to lane i mod L, each lane written in order by its own task,
    /// so a chunk can be queued the moment its data is ready and the stream never waits for the ring loop.
    /// </summary>
    private sealed class OpSender
    {
        private readonly GrpcCollectiveGroup _group;
        private readonly OpState _op;
        private readonly TaskCompletionSource<OutboundLane>[] _lanes;
        private readonly int _peer;
        private readonly Channel<OutgoingChunk>[] _queues;
        private readonly Task[] _writers;

        public OpSender(GrpcCollectiveGroup group, OpState op, TaskCompletionSource<OutboundLane>[] lanes, int peer)
        {
            _group = group;
            _op = op;
            _lanes = lanes;
            _peer = peer;
            _queues = new Channel<OutgoingChunk>[lanes.Length];
            _writers = new Task[lanes.Length];
            for (var i = 0; i < lanes.Length; i++)
            {
                _queues[i] = Channel.CreateUnbounded<OutgoingChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
                var lane = i;
                _writers[i] = Task.Run(() => WriteLaneAsync(lane));
            }
        }

        public void Enqueue(int index, OutgoingChunk chunk)
        {
            _queues[index % _queues.Length].Writer.TryWrite(chunk);
        }

        /// <summary>Waits until every queued chunk is handed to HTTP/2 (the caller may reuse its buffers after the operation).</summary>
        public async Task CompleteAsync()
        {
            foreach (var queue in _queues)
            {
                queue.Writer.TryComplete();
            }
            _op.WaitingPeer = _peer;
            _op.Waiting = $"sending to {_group.Describe(_peer)}";
            await Task.WhenAll(_writers).WaitAsync(_op.Token).ConfigureAwait(false);
        }

        /// <summary>After a failure: stop queueing and give in-flight writes a moment to end (the streams are being aborted).</summary>
        public async Task DrainAsync()
        {
            foreach (var queue in _queues)
            {
                queue.Writer.TryComplete();
            }
            try
            {
                await Task.WhenAll(_writers).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        private async Task WriteLaneAsync(int lane)
        {
            var reader = _queues[lane].Reader;
            try
            {
                // The receiver opens the lane (PullChunks) on its first receive; chunks queue up until it does.
                var stream = await _lanes[lane].Task.WaitAsync(_op.Token).ConfigureAwait(false);
                while (await reader.WaitToReadAsync(_op.Token).ConfigureAwait(false))
                {
                    while (reader.TryRead(out var chunk))
                    {
                        await stream.WriteAsync(chunk.Frame, _op.Token).ConfigureAwait(false);
                        chunk.ReturnBuffer(); // the payload was copied into the stream (or its shared-memory slot)
                    }
                }
            }
            catch (OperationCanceledException) when (_op.Token.IsCancellationRequested)
            {
                // The operation already failed (deadline, fault, caller); it reports why.
            }
            catch (Exception ex)
            {
                if (!_group._faultCts.IsCancellationRequested)
                {
                    _group.Fault(_group.PeerFailure(_peer, null, ex));
                }
            }
        }
    }

    /// <summary>A frame to send, and the pooled buffer its payload sits in when it was narrowed to bf16 (returned once written).</summary>
    private readonly record struct OutgoingChunk(ChunkFrame Frame, byte[]? Pooled)
    {
        public void ReturnBuffer()
        {
            if (Pooled is not null)
            {
                ChunkBuffers.Shared.Return(Pooled);
            }
        }
    }

    /// <summary>Received chunks waiting for the operation loop, one unbounded queue per (direction, lane), in arrival order.</summary>
    private sealed class InboundLanes
    {
        private readonly Channel<ReceivedChunk>[] _lanes;

        public InboundLanes(int lanesPerEdge)
        {
            _lanes = new Channel<ReceivedChunk>[2 * lanesPerEdge];
            for (var i = 0; i < _lanes.Length; i++)
            {
                _lanes[i] = Channel.CreateUnbounded<ReceivedChunk>(new UnboundedChannelOptions { SingleReader = true });
            }
        }

        private int PerEdge => _lanes.Length / 2;

        public ChannelReader<ReceivedChunk> Reader(RingDirection direction, int chunkIndex)
        {
            return _lanes[(int)direction * PerEdge + chunkIndex % PerEdge].Reader;
        }

        public ChannelWriter<ReceivedChunk> Writer(RingDirection direction, int lane)
        {
            return _lanes[(int)direction * PerEdge + lane].Writer;
        }
    }
}
