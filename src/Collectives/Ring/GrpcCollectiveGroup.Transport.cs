using Grpc.Core;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>The group's plumbing: operation framing and deadline, edge streams, inbound routing, failure propagation.</summary>
public sealed partial class GrpcCollectiveGroup
{
    private readonly InboundLanes _inbox;
    private readonly CancellationTokenSource _faultCts = new();
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly InboundLane[]?[] _pulls = new InboundLane[]?[2];
    private readonly TaskCompletionSource<OutboundLane>[][] _outbound;
    private readonly Lock _stateLock = new();
    private readonly LaneTransport?[,] _laneTransports;
    private CollectiveException? _fault;
    private Task _abortTask = Task.CompletedTask;
    private int _disposed;

    /// <summary>Runs one operation under the op lock with the deadline; any failure breaks the group and is thrown as a CollectiveException.</summary>
    private async Task RunAsync(CollectiveOp kind, long totalElements, Func<OpState, Task> body, CancellationToken ct,
        WirePrecision wire = WirePrecision.Float32)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _opLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_fault is { } earlier)
            {
                throw new CollectiveException($"rank {Rank}: the group is broken by an earlier failure: {earlier.Message}", earlier);
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, _faultCts.Token, _disposeCts.Token);
            cts.CancelAfter(_options.OperationDeadline);
            var op = new OpState(_nextSeq++, kind, totalElements, wire, cts.Token);
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
                throw failure;
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
            // A neighbour's abort (often its own timeout) can arrive before this rank's deadline: keep what this rank was
            // blocked on too, since that names the peer that really went silent (the neighbour may only see this rank).
            return op.WaitingPeer is { } waitingOn && waitingOn != fault.PeerRank && ReferenceEquals(ex, fault) is false
                ? new CollectiveException($"{fault.Message}; rank {Rank} was {op.Waiting}", fault)
                : fault;
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

    /// <summary>Breaks the group once without telling the peers: cancels the running operation; later ones fail with <paramref name="failure"/>.</summary>
    private void FaultSilently(CollectiveException failure)
    {
        lock (_stateLock)
        {
            if (_fault is not null)
            {
                return;
            }
            _fault = failure;
        }
        _abortTask = _faultCts.CancelAsync();
    }

    /// <summary>Breaks the group once: cancels the running operation, and aborts every lane (both ways) with the reason.</summary>
    private void Fault(CollectiveException failure)
    {
        OutboundLane[] sending;
        InboundLane[] receiving;
        lock (_stateLock)
        {
            if (_fault is not null)
            {
                return;
            }
            _fault = failure;
            sending = ConnectedOutboundLocked();
            receiving = _pulls.Where(e => e is not null).SelectMany(e => e!).ToArray();
        }
        var abort = new ChunkFrame
        {
            RunId = _options.RunId,
            Generation = _options.Generation,
            SourceRank = Rank,
            AbortReason = failure.Message,
        };
        _abortTask = Task.Run(async () =>
        {
            await _faultCts.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(sending.Select(lane => lane.AbortAsync(abort))
                .Concat(receiving.Select(lane => lane.AbortAsync(failure.Message)))).ConfigureAwait(false);
        });
    }

    private OutboundLane[] ConnectedOutboundLocked()
    {
        return _outbound.SelectMany(e => e).Where(t => t.Task.IsCompletedSuccessfully).Select(t => t.Task.Result).ToArray();
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
        var sender = new OpSender(this, op, _outbound[(int)direction], Neighbor(direction, incoming: false));
        op.Senders.Add(sender);
        return sender;
    }

    /// <summary>Opens this rank's pull streams from the neighbour it receives from in <paramref name="direction"/>, once.</summary>
    private void EnsurePulling(RingDirection direction)
    {
        lock (_stateLock)
        {
            if (_pulls[(int)direction] is not null)
            {
                return;
            }
            var peer = Neighbor(direction, incoming: true);
            var lanes = new InboundLane[_options.StreamsPerEdge];
            for (var i = 0; i < lanes.Length; i++)
            {
                var ring = OfferRing(direction, i);
                var tcp = TcpRequest(peer, direction, i);
                var headers = new CollectiveHeaders(_options.RunId, _options.Generation, Rank, direction, i, lanes.Length, _options.OperationDeadline,
                    ring is null ? null : SharedMemoryOffer.Of(ring), tcp?.ReceiverNonce);
                lanes[i] = new InboundLane(_options.PeerAddresses[peer], headers.ToMetadata(_options.BearerToken), _options.OperationDeadline, ring,
                    _options.ReferenceClient, tcp);
                var lane = i;
                _ = Task.Run(() => ReadInboundAsync(peer, direction, lane, lanes[lane]));
            }
            _pulls[(int)direction] = lanes;
        }
    }

    /// <summary>
    /// How each inbound lane that is open carries payloads: on a same-host ring, on a bulk TCP socket, or inline with the
    /// reason neither was used. Lanes open on the first operation that receives on them.
    /// </summary>
    public IReadOnlyList<LaneTransport> Lanes
    {
        get
        {
            lock (_stateLock)
            {
                var lanes = new List<LaneTransport>();
                for (var d = 0; d < 2; d++)
                {
                    for (var lane = 0; lane < _options.StreamsPerEdge; lane++)
                    {
                        if (_laneTransports[d, lane] is { } transport && _pulls[d] is not null)
                        {
                            lanes.Add(transport);
                        }
                    }
                }
                return lanes;
            }
        }
    }

    /// <summary><see cref="Lanes"/> as the worker logs them, e.g. <c>Forward/0: shm; Forward/1: tcp (127.0.0.1:41234)</c>.</summary>
    public string TransportSummary => string.Join("; ", Lanes);

    /// <summary>
    /// Reads one pull stream for as long as the group lives: chunks go to the inbox; an abort, an end or an error breaks the
    /// group. On a TCP lane the chunks arrive on its socket instead (<see cref="StartTcpReader"/>) and the stream carries
    /// only the sender's abort or end.
    /// </summary>
    private async Task ReadInboundAsync(int peer, RingDirection direction, int laneIndex, InboundLane lane)
    {
        var writer = _inbox.Writer(direction, laneIndex);
        var streamEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tcpReader = Task.CompletedTask;
        try
        {
            var (payloads, refusal) = await lane.NegotiateAsync().ConfigureAwait(false);
            lock (_stateLock)
            {
                var edge = $"{direction}/{laneIndex}";
                _laneTransports[(int)direction, laneIndex] = payloads switch
                {
                    LanePayloads.SharedMemory => new LaneTransport(edge, payloads, "shm"),
                    LanePayloads.Tcp => new LaneTransport(edge, payloads, $"tcp ({lane.Tcp!.Remote}{(refusal.Length > 0 ? $"; shm {refusal}" : "")})"),
                    _ when refusal.Length > 0 => LaneTransport.Inline(direction, laneIndex, refusal),
                    _ => _laneTransports[(int)direction, laneIndex] ?? LaneTransport.Inline(direction, laneIndex, refusal),
                };
            }
            if (lane.Tcp is { } tcp)
            {
                tcpReader = StartTcpReader(peer, direction, laneIndex, lane, tcp, writer, streamEnded.Task);
            }
            while (await lane.Chunks.MoveNext(CancellationToken.None).ConfigureAwait(false))
            {
                var frame = lane.Chunks.Current;
                if (!Admit(peer, frame, lane))
                {
                    return;
                }
                writer.TryWrite(frame);
            }
        }
        catch (Exception ex)
        {
            if (!_disposeCts.IsCancellationRequested && !lane.Cancelled)
            {
                Fault(PeerFailure(peer, (ex as RpcException)?.Status, ex));
            }
            return;
        }
        finally
        {
            streamEnded.TrySetResult();
            lane.MarkEnded();
        }
        try
        {
            // The sender ends its stream and then closes the socket: what it sent on the socket before is still read.
            await tcpReader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        if (!_disposeCts.IsCancellationRequested && !lane.Cancelled)
        {
            // A clean end: the peer left the group after sending all it had sent on this stream (which is ordered), so
            // only a receive that needs more than that fails, naming the peer; a peer that finished the last operation and
            // left before this rank read its last chunk is not a failure.
            writer.TryComplete(new CollectiveException($"rank {Rank}: {Describe(peer)} closed the stream: it left the group", peer));
        }
    }

    /// <summary>
    /// Checks a chunk from <paramref name="peer"/> before it goes to the inbox: its run and generation, an abort, a slot of
    /// the lane's ring. False (the group is broken, naming the peer) when it must not be used.
    /// </summary>
    private bool Admit(int peer, ReceivedChunk frame, InboundLane lane)
    {
        if (frame.RunId != _options.RunId || frame.Generation != _options.Generation)
        {
            Fault(new CollectiveException(
                $"rank {Rank}: {Describe(peer)} sent a chunk of run '{frame.RunId}' generation {frame.Generation}, but this rank is in run '{_options.RunId}' generation {_options.Generation}",
                peer));
            return false;
        }
        if (frame.AbortReason.Length > 0)
        {
            Fault(new CollectiveException($"rank {Rank}: {Describe(peer)} aborted: {frame.AbortReason}", peer) { PeerAnswered = true });
            return false;
        }
        if (frame.ShmSlot != 0 && (lane.Ring is not { } ring || !frame.AttachSlot(ring, lane)))
        {
            Fault(new CollectiveException(
                $"rank {Rank}: {Describe(peer)} sent a chunk in shared-memory slot {frame.ShmSlot} ({frame.ShmBytes} bytes), which this lane's ring does not have",
                peer));
            return false;
        }
        return true;
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
            null => $"the stream with {who} failed: {error.Message}",
            _ => $"the stream from {who} failed: {status.Value.StatusCode}: {status.Value.Detail}",
        };
        return new CollectiveException($"rank {Rank}: {text}", peer, error)
        {
            PeerAnswered = status?.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.FailedPrecondition or StatusCode.Aborted,
        };
    }

    private async Task<ReceivedChunk> ReceiveAsync(OpState op, RingDirection direction, int index, int from, int step, int chunk, int count,
        long? expectedTotal = null)
    {
        op.WaitingPeer = from;
        op.Waiting = $"waiting for step {step} chunk {chunk} from {Describe(from)}";
        EnsurePulling(direction);
        ReceivedChunk frame;
        try
        {
            frame = await _inbox.Reader(direction, index).ReadAsync(op.Token).ConfigureAwait(false);
        }
        catch (System.Threading.Channels.ChannelClosedException closed) when (closed.InnerException is CollectiveException left)
        {
            throw new CollectiveException(left.Message, left);
        }
        if (frame.OpSeq != op.Seq || frame.Op != op.Kind || frame.Step != step || frame.Chunk != chunk)
        {
            throw new CollectiveException(
                $"rank {Rank}: {Describe(from)} sent {frame.Op} #{frame.OpSeq} step {frame.Step} chunk {frame.Chunk} while this rank runs {op} step {step} chunk {chunk}: the ranks called different collectives",
                from);
        }
        if (frame.DType != op.DType)
        {
            frame.Release();
            throw new CollectiveException(
                $"rank {Rank}: {Describe(from)} sent {frame.DType} payloads for {op}, which travels as {op.DType}: the ranks chose different wire precisions",
                from);
        }
        var total = expectedTotal ?? op.TotalElements;
        if (frame.TotalElements != total || frame.PayloadLength != count * op.BytesPerElement)
        {
            frame.Release();
            throw new CollectiveException(
                $"rank {Rank}: {Describe(from)} has {frame.TotalElements} floats for {op} (chunk of {frame.PayloadLength} bytes) while this rank expects {total} (chunk of {count * op.BytesPerElement} bytes): buffer sizes differ across ranks",
                from);
        }
        return frame;
    }

    /// <summary>
    /// Serves one pull stream (called by CollectiveService): the receiving neighbour's lane, written by this rank's senders
    /// until the group ends. Its request stream carries only an abort reason or, on a same-host lane, the slots the receiver
    /// has read; it ends when the receiver leaves.
    /// </summary>
    internal async Task ServeOutboundAsync(CollectiveHeaders headers, IAsyncStreamReader<PullControl> requests, IServerStreamWriter<ChunkFrame> responses,
        ServerCallContext context)
    {
        var callToken = context.CancellationToken;
        var receiver = headers.SourceRank;
        var expected = Neighbor(headers.Direction, incoming: false);
        if (receiver != expected)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"rank {Rank} sends {headers.Direction} to rank {expected}, not to rank {receiver}: the ranks disagree on the ring"));
        }
        if (headers.Lanes != _options.StreamsPerEdge || headers.Lane < 0 || headers.Lane >= headers.Lanes)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"lane {headers.Lane} of {headers.Lanes} streams per edge, but rank {Rank} uses {_options.StreamsPerEdge}"));
        }
        var (ring, tcp) = await AnswerLaneOffersAsync(headers, context).ConfigureAwait(false);
        var lane = new OutboundLane(responses, ring, tcp);
        try
        {
            lock (_stateLock)
            {
                if (_fault is { } fault)
                {
                    throw new RpcException(new Status(StatusCode.Aborted, $"rank {Rank} aborted: {fault.Message}"));
                }
                if (!_outbound[(int)headers.Direction][headers.Lane].TrySetResult(lane))
                {
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, $"rank {receiver} opened {headers.Direction} lane {headers.Lane} twice"));
                }
            }
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(callToken, _disposeCts.Token);
            var control = ReadControlAsync(receiver, requests, lane, stop.Token);
            await Task.WhenAny(control, lane.Closed, Task.Delay(Timeout.Infinite, stop.Token)).ConfigureAwait(false);
            lane.Close();
            await stop.CancelAsync().ConfigureAwait(false);
            await control.ConfigureAwait(false);
            if (_fault is { } failure && !_disposeCts.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.Aborted, $"rank {Rank} aborted: {failure.Message}"));
            }
        }
        finally
        {
            // In the background: a write still in progress holds the lane until the ended call makes it fail.
            _ = lane.ReleaseAsync();
        }
    }

    private async Task ReadControlAsync(int receiver, IAsyncStreamReader<PullControl> requests, OutboundLane lane, CancellationToken ct)
    {
        try
        {
            while (await requests.MoveNext(ct).ConfigureAwait(false))
            {
                if (requests.Current.AbortReason.Length > 0)
                {
                    Fault(new CollectiveException($"rank {Rank}: {Describe(receiver)} aborted: {requests.Current.AbortReason}", receiver) { PeerAnswered = true });
                    return;
                }
                if (requests.Current.ReleasedSlots != 0 && !lane.ReleaseSlots(requests.Current.ReleasedSlots))
                {
                    Fault(new CollectiveException(
                        $"rank {Rank}: {Describe(receiver)} gave back {requests.Current.ReleasedSlots} shared-memory slots it did not hold", receiver));
                    return;
                }
            }
            if (!_disposeCts.IsCancellationRequested)
            {
                // A clean end: the receiver left after its last operation. Only a send to it fails from now on, naming it.
                lane.Leave($"{Describe(receiver)} left the group (it ended its stream)");
            }
        }
        catch (Exception ex)
        {
            if (_server.IsStopping)
            {
                // This rank's own server is going away (its process is stopping): the peer is not to blame, and this rank
                // says nothing more. The peers notice their broken streams to it and name it, as they would a dead process.
                FaultSilently(new CollectiveException($"rank {Rank}: this rank's collective server stopped", null, ex));
            }
            else if (!_disposeCts.IsCancellationRequested && !_faultCts.IsCancellationRequested)
            {
                Fault(new CollectiveException($"rank {Rank}: the stream to {Describe(receiver)} broke ({ex.GetType().Name}: {ex.Message}); did rank {receiver} die?", receiver, ex));
            }
        }
    }

    /// <summary>
    /// Breaks the group on purpose (the coordinator aborted its generation): every pending and later operation fails with
    /// <paramref name="reason"/>, and the peers are told, as on any failure. No peer is blamed.
    /// </summary>
    public void Abort(string reason) =>
        Fault(new CollectiveException($"rank {Rank}: generation {_options.Generation} aborted: {reason}") { PeerAnswered = true });

    /// <summary>Leaves the group: ends the streams it serves, ends its pull streams, unregisters from the server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _disposeCts.CancelAsync().ConfigureAwait(false);
        _server.Registry.Unregister(this);
        OutboundLane[] sending;
        InboundLane[] receiving;
        lock (_stateLock)
        {
            sending = ConnectedOutboundLocked();
            receiving = _pulls.Where(e => e is not null).SelectMany(e => e!).ToArray();
        }
        foreach (var lane in sending)
        {
            lane.Close();
        }
        await Task.WhenAll(receiving.Select(lane => lane.DisposeAsync().AsTask())).ConfigureAwait(false);
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
