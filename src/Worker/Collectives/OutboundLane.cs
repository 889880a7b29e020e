using System.Net.Http;
using Grpc.Core;
using Grpc.Net.Client;
using MmCluster.Shared.Grpc.Collective;
using MmCluster.Worker.Services;

namespace MmCluster.Worker.Collectives;

/// <summary>
/// One long-lived client stream from this rank to a ring neighbour, on its own HTTP/2 connection (so lanes of an edge use
/// separate TCP sockets). Writes are serialised; <see cref="AbortAsync"/> tells the receiver why this rank gave up before
/// cancelling the stream, so the failure travels round the ring with its cause.
/// </summary>
internal sealed class OutboundLane : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncClientStreamingCall<PushChunksRequest, PushChunksReply> _call;
    private readonly CancellationTokenSource _callCts = new(); // never disposed: a late abort may still cancel it
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public OutboundLane(string address, Metadata headers, TimeSpan connectTimeout)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            InitialHttp2StreamWindowSize = CollectiveServer.StreamWindowBytes,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = connectTimeout,
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
            DisposeHttpClient = true,
        });
        _call = new Collective.CollectiveClient(_channel).PushChunks(headers, cancellationToken: _callCts.Token);
    }

    /// <summary>Completes when the receiver ends the stream: normally (it left) or with a status (it refused or aborted).</summary>
    public Task<PushChunksReply> Response => _call.ResponseAsync;

    public bool Cancelled => _callCts.IsCancellationRequested;

    public async Task WriteAsync(PushChunksRequest frame)
    {
        await _writeLock.WaitAsync(_callCts.Token).ConfigureAwait(false);
        try
        {
            await _call.RequestStream.WriteAsync(frame, _callCts.Token).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The receiver's status if it already ended the call, waiting briefly for it; null if it has not.</summary>
    public async Task<Status?> TryGetStatusAsync(TimeSpan wait)
    {
        try
        {
            await _call.ResponseAsync.WaitAsync(wait).ConfigureAwait(false);
            return _call.GetStatus();
        }
        catch (RpcException ex)
        {
            return ex.Status;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>Best effort: send an abort frame carrying <paramref name="reason"/>, then cancel the stream.</summary>
    public async Task AbortAsync(PushChunksRequest abortFrame)
    {
        try
        {
            if (await _writeLock.WaitAsync(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false))
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                    await _call.RequestStream.WriteAsync(abortFrame, timeout.Token).ConfigureAwait(false);
                    // End the stream cleanly so the receiver reads the abort frame before any reset can discard it.
                    await _call.RequestStream.CompleteAsync().WaitAsync(TimeSpan.FromMilliseconds(300)).ConfigureAwait(false);
                    await _call.ResponseAsync.WaitAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception)
        {
            // The stream is already broken: cancelling below is all that is left to do.
        }
        await _callCts.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Ends the stream normally (the group is being disposed) and waits briefly for the receiver's reply.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_callCts.IsCancellationRequested && await _writeLock.WaitAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false))
            {
                await _call.RequestStream.CompleteAsync().WaitAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
                await _call.ResponseAsync.WaitAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // Disposal is best effort: the peer may be gone already.
        }
        await _callCts.CancelAsync().ConfigureAwait(false);
        _call.Dispose();
        _channel.Dispose();
    }
}
