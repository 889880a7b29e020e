using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using MmCluster.Collectives.Protocol;
using MmCluster.Shared.Security;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The gRPC face of the collectives (Collective.PullChunks of protos/collective.proto). Its server's
/// <see cref="BearerTokenInterceptor"/> has already refused any call without the token; it parses the metadata, finds the group of its run and generation, and hands the call to that group, which streams the chunks
/// for that ring edge lane to the calling receiver for as long as the group lives (bound with
/// <see cref="ReceivedChunk.PullChunksServerMethod"/>).
/// Not sealed and the handler virtual: Grpc.AspNetCore binds handlers that are virtual methods of the bound type.
/// </summary>
[BindServiceMethod(typeof(CollectiveService), nameof(BindService))]
internal class CollectiveService
{
    private readonly CollectiveRegistry _registry;

    public CollectiveService(CollectiveRegistry registry)
    {
        _registry = registry;
    }

    public static void BindService(ServiceBinderBase binder, CollectiveService? service)
    {
        binder.AddMethod(ReceivedChunk.PullChunksServerMethod, service is null ? null : service.PullChunks);
    }

    public virtual async Task PullChunks(IAsyncStreamReader<PullControl> requestStream, IServerStreamWriter<ChunkFrame> responseStream, ServerCallContext context)
    {
        var headers = CollectiveHeaders.Parse(context.RequestHeaders);
        var group = await _registry.ResolveAsync(headers.RunId, headers.Generation, headers.Wait, context.CancellationToken).ConfigureAwait(false);
        await group.ServeOutboundAsync(headers, requestStream, responseStream, context).ConfigureAwait(false);
    }
}
