using System.Net.Http;
using Grpc.Core;
using Grpc.Net.Client;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// A PullChunks call through Grpc.Net.Client and SocketsHttpHandler, on its own HTTP/2 connection: the reference client,
/// kept for comparison (<see cref="CollectiveGroupOptions.ReferenceClient"/>, <c>MMCLUSTER_COLLECTIVE_CLIENT=grpc-net</c>); lanes use <see cref="Http2PullCall"/> otherwise.
/// </summary>
internal sealed class GrpcNetPullCall : IPullCall
{
    private readonly GrpcChannel _channel;
    private readonly CancellationTokenSource _cancel = new();
    private readonly AsyncDuplexStreamingCall<PullControl, ReceivedChunk> _call;

    public GrpcNetPullCall(string address, Metadata headers, TimeSpan connectTimeout)
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
            new CallOptions(headers, cancellationToken: _cancel.Token));
    }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public IAsyncStreamReader<ReceivedChunk> ResponseStream => _call.ResponseStream;

    public Task WriteAsync(PullControl message, CancellationToken ct)
    {
        return _call.RequestStream.WriteAsync(message, ct);
    }

    public Task CompleteAsync()
    {
        return _call.RequestStream.CompleteAsync();
    }

    public void Dispose()
    {
        _cancel.Cancel();
        _call.Dispose();
        _channel.Dispose();
    }
}
