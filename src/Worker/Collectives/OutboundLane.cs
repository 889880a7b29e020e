using Grpc.Core;
using MmCluster.Shared.Grpc.Collective;

namespace MmCluster.Worker.Collectives;

/// <summary>
/// The sending end of one edge lane: the response stream of a PullChunks call that the receiving neighbour opened on this
/// rank's server (see protos/collective.proto). Writes are serialised; <see cref="AbortAsync"/> tells the receiver why this
/// rank gave up before the call ends, so the failure travels round the ring with its cause. The call's handler lives
/// until <see cref="Closed"/> completes.
/// </summary>
internal sealed class OutboundLane
{
    private readonly IServerStreamWriter<ChunkFrame> _responses;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public OutboundLane(IServerStreamWriter<ChunkFrame> responses)
    {
        _responses = responses;
    }

    /// <summary>Completes when this rank is done with the lane (aborted or closed); the call handler then returns.</summary>
    public Task Closed => _closed.Task;

    public async Task WriteAsync(ChunkFrame frame, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_closed.Task.IsCompleted, this);
            await _responses.WriteAsync(frame, ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
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

    public void Close()
    {
        _closed.TrySetResult();
    }
}
