using System.Net.Http;
using Grpc.Core;
using Grpc.Net.Client;
using MmCluster.Shared.Grpc.Collective;
using MmCluster.Worker.Services;

namespace MmCluster.Worker.Collectives;

/// <summary>
/// The receiving end of one edge lane: a PullChunks call from this rank to the neighbour it receives from, on its own
/// HTTP/2 connection (so lanes of an edge use separate TCP sockets). The neighbour's Kestrel streams the chunks back as
/// response messages, parsed straight into pooled buffers (<see cref="ReceivedChunk"/>). <see cref="AbortAsync"/> tells
/// the sender why this rank gave up; <see cref="DisposeAsync"/> completes the request stream, which the sender reads as
/// "this rank left the group".
/// </summary>
internal sealed class InboundLane : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<PullControl, ReceivedChunk> _call;
    private readonly CancellationTokenSource _callCts = new(); // never disposed: a late abort may still cancel it
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _requestsDone;

    public InboundLane(string address, Metadata headers, TimeSpan connectTimeout)
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
        _call = _channel.CreateCallInvoker().AsyncDuplexStreamingCall(ReceivedChunk.PullChunksClientMethod, null,
            new CallOptions(headers, cancellationToken: _callCts.Token));
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
        try
        {
            if (Interlocked.Exchange(ref _requestsDone, 1) == 0)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                await _call.RequestStream.WriteAsync(new PullControl { AbortReason = reason }, timeout.Token).ConfigureAwait(false);
                await _call.RequestStream.CompleteAsync().WaitAsync(TimeSpan.FromMilliseconds(300)).ConfigureAwait(false);
                await _ended.Task.WaitAsync(TimeSpan.FromMilliseconds(1000)).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // The stream is already broken: cancelling below is all that is left to do.
        }
        await _callCts.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Leaves: ends the request stream (the sender sees this rank leave), then cancels and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_callCts.IsCancellationRequested && Interlocked.Exchange(ref _requestsDone, 1) == 0)
            {
                await _call.RequestStream.CompleteAsync().WaitAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
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
