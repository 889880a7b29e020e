using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using MmCluster.Shared.Collectives;
using MmCluster.Shared.Grpc.Collective;

namespace MmCluster.Worker.Collectives;

/// <summary>The group's plumbing: operation framing and deadline, edge streams, inbound routing, failure propagation.</summary>
public sealed partial class GrpcCollectiveGroup
{
    private readonly InboundLanes _inbox;
    private readonly CancellationTokenSource _faultCts = new();
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly OutboundLane[]?[] _edges = new OutboundLane[]?[2];
    private readonly Lock _stateLock = new();
    private CollectiveException? _fault;
    private Task _abortTask = Task.CompletedTask;
    private int _disposed;

    internal bool Accepts(string token)
    {
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(_options.BearerToken));
    }

    /// <summary>Runs one operation under the op lock with the deadline; any failure breaks the group and is thrown as a CollectiveException.</summary>
    private async Task RunAsync(CollectiveOp kind, long totalElements, Func<OpState, Task> body, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _opLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_fault is { } earlier)
            {
                throw new CollectiveException($"rank {Rank}: the group is broken by an earlier failure: {earlier.Message}", earlier.PeerRank, earlier);
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, _faultCts.Token, _disposeCts.Token);
            cts.CancelAfter(_options.OperationDeadline);
            var op = new OpState(_nextSeq++, kind, totalElements, cts.Token);
            try
            {
                await body(op).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                var failure = Classify(op, ex, ct);
                Fault(failure);
                await op.DrainAsync().ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
                throw _fault ?? failure;
            }
        }
        finally
        {
            _opLock.Release();
        }
    }

    private CollectiveException Classify(OpState op, Exception ex, CancellationToken ct)
    {
        if (_fault is { } fault)
        {
            return fault;
        }
        if (ex is CollectiveException collective)
        {
            return collective;
        }
        if (ct.IsCancellationRequested)
        {
            return new CollectiveException($"rank {Rank}: {op} was cancelled by the caller; the group is unusable now", null, ex);
        }
        if (_disposeCts.IsCancellationRequested)
        {
            return new CollectiveException($"rank {Rank}: {op} interrupted: the group was disposed", null, ex);
        }
        if (ex is OperationCanceledException)
        {
            return new CollectiveException(
                $"rank {Rank}: {op} timed out after {_options.OperationDeadline.TotalSeconds:0.###} s {op.Waiting}", op.WaitingPeer, ex);
        }
        return new CollectiveException($"rank {Rank}: {op} failed {op.Waiting}: {ex.Message}", op.WaitingPeer, ex);
    }

    /// <summary>Breaks the group once: cancels the running operation and inbound readers, and aborts outgoing streams with the reason.</summary>
    private void Fault(CollectiveException failure)
    {
        OutboundLane[] lanes;
        lock (_stateLock)
        {
            if (_fault is not null)
            {
                return;
            }
            _fault = failure;
            lanes = _edges.Where(e => e is not null).SelectMany(e => e!).ToArray();
        }
        var abort = new PushChunksRequest
        {
            RunId = _options.RunId,
            Generation = _options.Generation,
            SourceRank = Rank,
            AbortReason = failure.Message,
        };
        _abortTask = Task.Run(async () =>
        {
            await _faultCts.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(lanes.Select(lane => lane.AbortAsync(abort))).ConfigureAwait(false);
        });
    }

    private string Describe(int peer)
    {
        return $"rank {peer} ({_options.PeerAddresses[peer]})";
    }

    /// <summary>The rank this rank sends to in <paramref name="direction"/>, or (incoming) receives from.</summary>
    private int Neighbor(RingDirection direction, bool incoming)
    {
        var forwardStep = direction == RingDirection.Forward ? 1 : -1;
        return Mod(Rank + (incoming ? -forwardStep : forwardStep));
    }

    private OpSender OpenSender(OpState op, RingDirection direction)
    {
        var peer = Neighbor(direction, incoming: false);
        OutboundLane[] lanes;
        lock (_stateLock)
        {
            lanes = _edges[(int)direction] ??= OpenEdge(direction, peer);
        }
        var sender = new OpSender(this, op, lanes, peer);
        op.Senders.Add(sender);
        return sender;
    }

    private OutboundLane[] OpenEdge(RingDirection direction, int peer)
    {
        var lanes = new OutboundLane[_options.StreamsPerEdge];
        for (var i = 0; i < lanes.Length; i++)
        {
            var headers = new CollectiveHeaders(_options.RunId, _options.Generation, Rank, direction, i, lanes.Length, _options.OperationDeadline);
            lanes[i] = new OutboundLane(_options.PeerAddresses[peer], headers.ToMetadata(_options.BearerToken), _options.OperationDeadline);
            _ = WatchAsync(peer, lanes[i]);
        }
        return lanes;
    }

    /// <summary>A receiver that ends a stream (refusal, abort, departure) breaks the group even between operations.</summary>
    private async Task WatchAsync(int peer, OutboundLane lane)
    {
        Exception? error = null;
        try
        {
            await lane.Response.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex;
        }
        if (_disposeCts.IsCancellationRequested || lane.Cancelled)
        {
            return;
        }
        Fault(error is null
            ? new CollectiveException($"rank {Rank}: {Describe(peer)} closed the stream: it left the group", peer)
            : PeerFailure(peer, (error as RpcException)?.Status, error));
    }

    private CollectiveException PeerFailure(int peer, Status? status, Exception error)
    {
        var who = Describe(peer);
        var text = status?.StatusCode switch
        {
            StatusCode.Unauthenticated or StatusCode.PermissionDenied =>
                $"{who} refused this rank's call ({status.Value.StatusCode}: {status.Value.Detail}); check the bearer token",
            StatusCode.FailedPrecondition => $"{who} refused the stream: {status.Value.Detail}",
            StatusCode.Aborted => $"{who} aborted: {status.Value.Detail}",
            StatusCode.Unavailable => $"{who} is unreachable or died: {status.Value.Detail}",
            null => $"sending to {who} failed: {error.Message}",
            _ => $"sending to {who} failed: {status.Value.StatusCode}: {status.Value.Detail}",
        };
        return new CollectiveException($"rank {Rank}: {text}", peer, error);
    }

    private async Task<PushChunksRequest> ReceiveAsync(OpState op, RingDirection direction, int index, int from, int step, int chunk, int count,
        long? expectedTotal = null)
    {
        op.WaitingPeer = from;
        op.Waiting = $"waiting for step {step} chunk {chunk} from {Describe(from)}";
        var frame = await _inbox.Reader(direction, index).ReadAsync(op.Token).ConfigureAwait(false);
        if (frame.OpSeq != op.Seq || frame.Op != op.Kind || frame.Step != step || frame.Chunk != chunk)
        {
            throw new CollectiveException(
                $"rank {Rank}: {Describe(from)} sent {frame.Op} #{frame.OpSeq} step {frame.Step} chunk {frame.Chunk} while this rank runs {op} step {step} chunk {chunk}: the ranks called different collectives",
                from);
        }
        var total = expectedTotal ?? op.TotalElements;
        if (frame.TotalElements != total || frame.Payload.Length != count * sizeof(float))
        {
            throw new CollectiveException(
                $"rank {Rank}: {Describe(from)} has {frame.TotalElements} floats for {op} (chunk of {frame.Payload.Length} bytes) while this rank expects {total} (chunk of {count * sizeof(float)} bytes): buffer sizes differ across ranks",
                from);
        }
        return frame;
    }

    /// <summary>Reads one inbound lane for as long as the group lives (called by CollectiveService); returns the chunk count.</summary>
    internal async Task<long> ReadInboundAsync(CollectiveHeaders headers, IAsyncStreamReader<PushChunksRequest> stream, CancellationToken callToken)
    {
        var source = headers.SourceRank;
        var expected = Neighbor(headers.Direction, incoming: true);
        if (source != expected)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"rank {Rank} takes {headers.Direction} streams from rank {expected}, not from rank {source}: the ranks disagree on the ring"));
        }
        if (headers.Lanes != _options.StreamsPerEdge || headers.Lane < 0 || headers.Lane >= headers.Lanes)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"lane {headers.Lane} of {headers.Lanes} streams per edge, but rank {Rank} uses {_options.StreamsPerEdge}"));
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, _faultCts.Token, _disposeCts.Token);
        var writer = _inbox.Writer(headers.Direction, headers.Lane);
        long count = 0;
        try
        {
            while (await stream.MoveNext(linked.Token).ConfigureAwait(false))
            {
                var frame = stream.Current;
                if (frame.RunId != _options.RunId || frame.Generation != _options.Generation)
                {
                    throw new RpcException(new Status(StatusCode.FailedPrecondition,
                        $"chunk of run '{frame.RunId}' generation {frame.Generation} refused by rank {Rank} of run '{_options.RunId}' generation {_options.Generation}"));
                }
                if (frame.AbortReason.Length > 0)
                {
                    Fault(new CollectiveException($"rank {Rank}: {Describe(source)} aborted: {frame.AbortReason}", source));
                    return count;
                }
                writer.TryWrite(frame);
                count++;
            }
        }
        catch (Exception ex) when (ex is not RpcException { StatusCode: StatusCode.FailedPrecondition })
        {
            if (_disposeCts.IsCancellationRequested)
            {
                return count;
            }
            if (!_faultCts.IsCancellationRequested)
            {
                Fault(new CollectiveException($"rank {Rank}: the stream from {Describe(source)} broke ({ex.GetType().Name}: {ex.Message}); did rank {source} die?", source, ex));
            }
            throw new RpcException(new Status(StatusCode.Aborted, $"rank {Rank} aborted: {_fault?.Message}"));
        }
        if (!_disposeCts.IsCancellationRequested)
        {
            Fault(new CollectiveException($"rank {Rank}: {Describe(source)} closed its stream: it left the group", source));
        }
        return count;
    }

    /// <summary>Leaves the group: ends outgoing streams, stops reading incoming ones, unregisters from the server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _disposeCts.CancelAsync().ConfigureAwait(false);
        _server.Registry.Unregister(this);
        OutboundLane[] lanes;
        lock (_stateLock)
        {
            lanes = _edges.Where(e => e is not null).SelectMany(e => e!).ToArray();
        }
        await Task.WhenAll(lanes.Select(lane => lane.DisposeAsync().AsTask())).ConfigureAwait(false);
        try
        {
            await _abortTask.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Aborting is best effort; the group is gone either way.
        }
    }
}
