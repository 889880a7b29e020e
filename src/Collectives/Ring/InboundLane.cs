using Grpc.Core;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The receiving end of one edge lane: a PullChunks call from this rank to the neighbour it receives from, on its own
/// HTTP/2 connection (so lanes of an edge use separate TCP sockets), spoken by <see cref="Http2PullCall"/>. The neighbour's
/// Kestrel streams the chunks back as response messages, each read into one pooled buffer (<see cref="ReceivedChunk"/>). <see cref="AbortAsync"/> tells
/// the sender why this rank gave up; <see cref="DisposeAsync"/> completes the request stream, which the sender reads as
/// "this rank left the group".
/// <para>Same host: when built with a <see cref="SharedMemoryRing"/>, the lane offers it to the sender in the call's
/// metadata; <see cref="NegotiateAsync"/> reads the answer. On an accepted lane the frames name slots of the ring, and
/// <see cref="ReleaseSlot"/> hands each slot back to the sender once its chunk is consumed (batched PullControl messages).</para>
/// <para>Between hosts: when built with a <see cref="TcpLaneRequest"/>, the lane asks the sender for a bulk TCP lane in the
/// call's metadata too; if the sender answers with its listener's port and nonce, <see cref="NegotiateAsync"/> connects and
/// authenticates (<see cref="TcpLane.Connect"/>), and the chunks then arrive on <see cref="Tcp"/>, not in the stream.</para>
/// </summary>
internal sealed class InboundLane : IAsyncDisposable
{
    private readonly IPullCall _call;
    private readonly CancellationTokenSource _callCts = new(); // never disposed: a late abort may still cancel it
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _creditSignal = new(0);
    private SharedMemoryRing? _ring;
    private readonly TcpLaneRequest? _tcpRequest;
    private int _pendingCredits;
    private int _requestsDone;

    /// <param name="ring">A same-host ring to offer (already named in <paramref name="headers"/>), or null for inline payloads.</param>
    /// <param name="referenceClient">Use Grpc.Net.Client (<see cref="CollectiveGroupOptions.ReferenceClient"/>).</param>
    /// <param name="tcp">A TCP lane to ask for (its nonce already in <paramref name="headers"/>), or null.</param>
    public InboundLane(string address, Metadata headers, TimeSpan connectTimeout, SharedMemoryRing? ring = null, bool referenceClient = false,
        TcpLaneRequest? tcp = null)
    {
        _ring = ring;
        _tcpRequest = tcp;
        _call = referenceClient
            ? new GrpcNetPullCall(address, headers, connectTimeout)
            : new Http2PullCall(address, headers, connectTimeout);
        _callCts.Token.Register(_call.Dispose);
    }

    /// <summary>
    /// Waits for the sender's answers to what this lane asked for: the shared-memory ring when it was accepted, else the
    /// TCP lane when the sender accepted it and the connection authenticated, else inline payloads (<c>Refusal</c> says
    /// why the ring, and then the TCP lane, was not used; empty when nothing was asked for). The ring's file is unlinked either way. Throws what the call throws if the
    /// sender refused the call itself, and <see cref="System.Security.Authentication.AuthenticationException"/> when the
    /// TCP listener accepted without proving the token.
    /// </summary>
    public async Task<(LanePayloads Payloads, string Refusal)> NegotiateAsync()
    {
        if (_ring is null && _tcpRequest is null)
        {
            return (LanePayloads.Inline, "");
        }
        Metadata answers;
        var refusal = "";
        if (_ring is { } ring)
        {
            var accepted = false;
            try
            {
                answers = await _call.ResponseHeadersAsync.ConfigureAwait(false);
                refusal = answers.GetValue(CollectiveHeaders.ShmAnswerKey) ?? "refused: the sender did not answer the offer";
                accepted = refusal == CollectiveHeaders.ShmAccepted;
                if (accepted)
                {
                    _ = Task.Run(CreditLoopAsync);
                    return (LanePayloads.SharedMemory, "");
                }
            }
            finally
            {
                ring.Unlink();
                if (!accepted)
                {
                    _ring = null;
                    ring.Dispose();
                }
            }
        }
        else
        {
            answers = await _call.ResponseHeadersAsync.ConfigureAwait(false);
        }
        if (_tcpRequest is not { } request)
        {
            return (LanePayloads.Inline, refusal);
        }
        var answer = answers.GetValue(CollectiveHeaders.TcpAnswerKey);
        if (TcpLaneAnswer.TryParse(answer) is not { } tcp)
        {
            // Both refused for the same reason (the sender's transport): say it once.
            var tcpRefusal = answer ?? "refused: the sender did not answer the request";
            return (LanePayloads.Inline, refusal == tcpRefusal ? refusal : refusal.Length > 0 ? $"{refusal}; tcp {tcpRefusal}" : $"tcp {tcpRefusal}");
        }
        try
        {
            // A thread of its own: the blocking connect and handshake (see TcpLane.Connect), then the lane's read loop.
            Tcp = await Task.Factory.StartNew(() => TcpLane.Connect(request.Host, tcp.Port, request.Hello(tcp.SenderNonce), request.Token, request.Timeout),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            return (LanePayloads.Tcp, refusal); // why the ring was not used, if one was offered
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return (LanePayloads.Inline, $"tcp lane to {request.Host}:{tcp.Port} not set up: {e.Message}");
        }
    }

    /// <summary>The lane's accepted same-host ring; null while payloads are inline or on a TCP socket.</summary>
    public SharedMemoryRing? Ring => _ring;

    /// <summary>The lane's authenticated TCP socket once <see cref="NegotiateAsync"/> set it up; null while payloads are inline or in a ring.</summary>
    public TcpLane? Tcp { get; private set; }

    /// <summary>A chunk read from slot of the ring is consumed: the sender may write the slot again (sent in batches).</summary>
    public void ReleaseSlot()
    {
        if (Interlocked.Increment(ref _pendingCredits) == 1)
        {
            _creditSignal.Release();
        }
    }

    private async Task CreditLoopAsync()
    {
        try
        {
            while (true)
            {
                await _creditSignal.WaitAsync(_callCts.Token).ConfigureAwait(false);
                var credits = Interlocked.Exchange(ref _pendingCredits, 0);
                if (credits == 0)
                {
                    continue;
                }
                await _writeLock.WaitAsync(_callCts.Token).ConfigureAwait(false);
                try
                {
                    if (Volatile.Read(ref _requestsDone) != 0)
                    {
                        return;
                    }
                    await _call.WriteAsync(new PullControl { ReleasedSlots = credits }, _callCts.Token).ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception)
        {
            // The call ended or broke: the reader of Chunks sees why and breaks the group.
        }
    }

    /// <summary>The sender's chunks, in order; ends when the sender ends the call.</summary>
    public IAsyncStreamReader<ReceivedChunk> Chunks => _call.ResponseStream;

    public bool Cancelled => _callCts.IsCancellationRequested;

    /// <summary>Called by the reader of <see cref="Chunks"/> once the call has ended (the sender closed it or it broke).</summary>
    public void MarkEnded()
    {
        _ended.TrySetResult();
    }

    /// <summary>
    /// Best effort: send the abort reason, end the request stream, and let the sender end the call once it has read the
    /// reason; only then (or after a short wait) cancel. Cancelling at once would reset the stream, and the sender could see
    /// the reset before the reason and blame this rank instead of the cause.
    /// </summary>
    public async Task AbortAsync(string reason)
    {
        if (await TryEndRequestsAsync(new PullControl { AbortReason = reason }, TimeSpan.FromMilliseconds(300)).ConfigureAwait(false))
        {
            await WaitEndedAsync(TimeSpan.FromMilliseconds(1000)).ConfigureAwait(false);
        }
        await _callCts.CancelAsync().ConfigureAwait(false);
        Tcp?.Dispose();
    }

    /// <summary>Leaves: ends the request stream (the sender sees this rank leave), then cancels and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        // Let the sender see the clean end and close the call itself before this side drops the connection: a reset that
        // overtakes the end would read as "did this rank die?" on the sender.
        if (!_callCts.IsCancellationRequested && await TryEndRequestsAsync(null, TimeSpan.FromMilliseconds(500)).ConfigureAwait(false))
        {
            await WaitEndedAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
        }
        await _callCts.CancelAsync().ConfigureAwait(false);
        _call.Dispose();
        Tcp?.Dispose();
        if (_ring is { } ring)
        {
            ring.Unlink();
            ring.Dispose(); // unmapped once the last chunk that points into it is released
        }
    }

    /// <summary>
    /// Best effort, once per lane: send <paramref name="last"/> (if any) and end the request stream, each step within
    /// <paramref name="wait"/>; true when this call ended it. Serialised with the credit messages.
    /// </summary>
    private async Task<bool> TryEndRequestsAsync(PullControl? last, TimeSpan wait)
    {
        try
        {
            if (!await _writeLock.WaitAsync(wait).ConfigureAwait(false))
            {
                return false;
            }
            try
            {
                if (Interlocked.Exchange(ref _requestsDone, 1) != 0)
                {
                    return false;
                }
                if (last is not null)
                {
                    using var timeout = new CancellationTokenSource(wait);
                    await _call.WriteAsync(last, timeout.Token).ConfigureAwait(false);
                }
                await _call.CompleteAsync().WaitAsync(wait).ConfigureAwait(false);
                return true;
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception)
        {
            return false; // the stream is already broken: cancelling is all that is left to do
        }
    }

    private async Task WaitEndedAsync(TimeSpan wait)
    {
        try
        {
            await _ended.Task.WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The sender did not end the call in time: the caller cancels it.
        }
    }
}

/// <summary>What a receiver needs to ask for and open a TCP lane: its nonce, where the sender runs, the token, and the lane's claims.</summary>
internal sealed record TcpLaneRequest(byte[] ReceiverNonce, string Host, string Token, string RunId, long Generation, int ReceiverRank,
    RingDirection Direction, int Lane, TimeSpan Timeout)
{
    public TcpLaneHandshake.Hello Hello(byte[] senderNonce) => new(senderNonce, ReceiverNonce, RunId, Generation, ReceiverRank, Direction, Lane);
}
