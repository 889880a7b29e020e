using Google.Protobuf;
using Grpc.Core;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The sending end of one edge lane: the response stream of a PullChunks call that the receiving neighbour opened on this
/// rank's server (see protos/collective.proto). Writes are serialised; <see cref="AbortAsync"/> tells the receiver why this
/// rank gave up before the call ends, so the failure travels round the ring with its cause. The call's handler lives
/// until <see cref="Closed"/> completes.
/// <para>Same host: with an accepted <see cref="SharedMemoryRing"/>, each payload is copied into the next slot (waiting, under
/// the operation's deadline, until the receiver has given one back) and the frame carries only the slot number.</para>
/// <para>Between hosts: with an authenticated <see cref="TcpLane"/>, each chunk (tags and payload) goes on that socket
/// instead; the stream then carries only an abort, and its end.</para>
/// </summary>
internal sealed class OutboundLane
{
    private readonly IServerStreamWriter<ChunkFrame> _responses;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SharedMemoryRing? _ring;
    private readonly SemaphoreSlim? _freeSlots;
    private readonly TcpLane? _tcp;
    private int _nextSlot;
    private string? _leftReason;

    public OutboundLane(IServerStreamWriter<ChunkFrame> responses, SharedMemoryRing? ring = null, TcpLane? tcp = null)
    {
        _responses = responses;
        _ring = ring;
        _tcp = tcp;
        _freeSlots = ring is null ? null : new SemaphoreSlim(ring.Slots, ring.Slots);
    }

    /// <summary>Completes when this rank is done with the lane (aborted or closed); the call handler then returns.</summary>
    public Task Closed => _closed.Task;

    public async Task WriteAsync(ChunkFrame frame, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            if (_tcp is { } tcp)
            {
                await tcp.WriteAsync(frame, ct).ConfigureAwait(false);
                return;
            }
            if (_ring is { } ring && frame.Payload.Length > 0 && frame.Payload.Length <= ring.SlotBytes)
            {
                await _freeSlots!.WaitAsync(ct).ConfigureAwait(false);
                ThrowIfClosed();
                var slot = _nextSlot;
                _nextSlot = (_nextSlot + 1) % ring.Slots;
                frame.Payload.Span.CopyTo(ring.Slot(slot, frame.Payload.Length));
                frame.ShmSlot = slot + 1;
                frame.ShmBytes = frame.Payload.Length;
                frame.Payload = ByteString.Empty;
            }
            await _responses.WriteAsync(frame, ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The receiver consumed <paramref name="count"/> more slots; false if it gave back more than it had (a protocol error).</summary>
    public bool ReleaseSlots(int count)
    {
        if (_freeSlots is null || count < 1)
        {
            return false;
        }
        try
        {
            _freeSlots.Release(count);
            return true;
        }
        catch (SemaphoreFullException)
        {
            return false;
        }
    }

    /// <summary>After the call ended: unmap the ring once no write is using it; close the TCP socket (at once if a write hangs on it).</summary>
    public async Task ReleaseAsync()
    {
        Close();
        if (_ring is null && _tcp is null)
        {
            return;
        }
        var locked = _ring is not null
            ? await _writeLock.WaitAsync(Timeout.Infinite).ConfigureAwait(false)
            : await _writeLock.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        try
        {
            _ring?.Dispose(); // idempotent
            _tcp?.Dispose();
        }
        finally
        {
            if (locked)
            {
                _writeLock.Release();
            }
        }
    }

    /// <summary>Best effort: write an abort frame carrying the reason, then end the call.</summary>
    public async Task AbortAsync(ChunkFrame abortFrame)
    {
        try
        {
            if (await _writeLock.WaitAsync(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false))
            {
                try
                {
                    if (!_closed.Task.IsCompleted)
                    {
                        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                        await _responses.WriteAsync(abortFrame, timeout.Token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception)
        {
            // The stream is already broken: ending the call below is all that is left to do.
        }
        Close();
    }

    /// <summary>The receiver ended its stream cleanly: later writes fail with <paramref name="reason"/>.</summary>
    public void Leave(string reason)
    {
        _leftReason = reason;
        Close();
    }

    private void ThrowIfClosed()
    {
        if (_closed.Task.IsCompleted)
        {
            throw _leftReason is { } reason ? new InvalidOperationException(reason) : new ObjectDisposedException(nameof(OutboundLane));
        }
    }

    public void Close()
    {
        _closed.TrySetResult();
    }
}
