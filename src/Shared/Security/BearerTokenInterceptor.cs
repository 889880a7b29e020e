using Grpc.Core;
using Grpc.Core.Interceptors;

namespace MmCluster.Shared.Security;

/// <summary>
/// Refuses, before the service sees anything of it, every call that does not carry <c>authorization: Bearer &lt;token&gt;</c>
/// with the configured token (<see cref="BearerToken"/>): <see cref="StatusCode.Unauthenticated"/> with one fixed message,
/// whatever the call's headers hold, so a refusal tells a caller nothing but "wrong token". With no token configured it
/// lets everything through (a dashboard without a token is open). Added per service, so the gRPC health service stays
/// open for Kubernetes' probes.
/// </summary>
public sealed class BearerTokenInterceptor(string? token, string refusal = BearerTokenInterceptor.DefaultRefusal) : Interceptor
{
    public const string DefaultRefusal = "wrong bearer token (or none)";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        if (!string.IsNullOrEmpty(token) && !BearerToken.IsPresentedIn(context.RequestHeaders, token))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, refusal));
        }
    }
}
