using Grpc.Core;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>The receiver's side of one PullChunks call, whatever client speaks it (<see cref="Http2PullCall"/> by default).</summary>
internal interface IPullCall : IDisposable
{
    /// <summary>The sender's response headers; faults like the call when it fails first.</summary>
    Task<Metadata> ResponseHeadersAsync { get; }

    /// <summary>The chunks in order; ends after OK trailers, throws the call's RpcException otherwise.</summary>
    IAsyncStreamReader<ReceivedChunk> ResponseStream { get; }

    /// <summary>Sends one message on the request stream (one writer at a time).</summary>
    Task WriteAsync(PullControl message, CancellationToken ct);

    /// <summary>Ends the request stream.</summary>
    Task CompleteAsync();
}
