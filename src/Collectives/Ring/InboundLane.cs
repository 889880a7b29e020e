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
/// </summary>
internal sealed class InboundLane : IAsyncDisposable
{
    private readonly IPullCall _call;
    private readonly CancellationTokenSource _callCts = new(); // never disposed: a late abort may still cancel it
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _creditSignal = new(0);
    private SharedMemoryRing? _ring;
    private int _pendingCredits;
    private int _requestsDone;

    /// <param name="ring">A same-host ring to offer (already named in <paramref name="headers"/>), or null for inline payloads.</param>
    /// <param name="referenceClient">Use Grpc.Net.Client (<see cref="CollectiveGroupOptions.ReferenceClient"/>).</param>
    public InboundLane(string address, Metadata headers, TimeSpan connectTimeout, SharedMemoryRing? ring = null, bool referenceClient = false)
    {
        _ring = ring;
        _call = referenceClient
            ? new GrpcNetPullCall(address, headers, connectTimeout)
            : new Http2PullCall(address, headers, connectTimeout);
        _callCts.Token.Register(_call.Dispose);
    }

    /// <summary>
    /// Waits for the sender's answer to the shared-memory offer, if one was made: the ring when it was accepted, null when
    /// payloads stay inline (no offer, or refused: <paramref name="refusal"/> says why). The ring's file is unlinked either
    /// way. Throws what the call throws if the sender refused the call itself.
    /// </summary>
    public async Task<(SharedMemoryRing? Ring, string Refusal)> NegotiateAsync()
    {
        if (_ring is not { } ring)
        {
            return (null, "");
        }
        var accepted = false;
        try
        {
            var answer = (await _call.ResponseHeadersAsync.ConfigureAwait(false)).GetValue(CollectiveHeaders.ShmAnswerKey) ?? "refused: the sender did not answer the offer";
            accepted = answer == CollectiveHeaders.ShmAccepted;
            if (accepted)
            {
                _ = Task.Run(CreditLoopAsync);
                return (ring, "");
            }
            return (null, answer);
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
