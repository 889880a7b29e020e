using Grpc.Core;
using MmCluster.Shared.Grpc.Collective;
using MmCluster.Worker.Collectives;

namespace MmCluster.Worker.Services;

/// <summary>
/// The gRPC face of the collectives: checks the stream's metadata and bearer token, finds the group of its run and generation,
/// and hands the stream to that group, which reads it for as long as the group lives.
/// </summary>
public sealed class CollectiveService : Collective.CollectiveBase
{
    private readonly CollectiveRegistry _registry;

    public CollectiveService(CollectiveRegistry registry)
    {
        _registry = registry;
    }

    public override async Task<PushChunksReply> PushChunks(IAsyncStreamReader<PushChunksRequest> requestStream, ServerCallContext context)
    {
        var token = CollectiveHeaders.BearerToken(context.RequestHeaders)
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "collective call without an 'authorization: Bearer <token>' header"));
        var headers = CollectiveHeaders.Parse(context.RequestHeaders);
        var group = await _registry.ResolveAsync(headers.RunId, headers.Generation, headers.Wait, context.CancellationToken).ConfigureAwait(false);
        if (!group.Accepts(token))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"wrong bearer token for run '{headers.RunId}'"));
        }
        var received = await group.ReadInboundAsync(headers, requestStream, context.CancellationToken).ConfigureAwait(false);
        return new PushChunksReply { ChunksReceived = received };
    }
}
