using Grpc.Core;

namespace MmCluster.Coordinator.Tests.Services;

/// <summary>A fake <see cref="ServerCallContext"/> for calling services directly (grpc-dotnet examples/Tester).</summary>
internal sealed class TestServerCallContext(Metadata requestHeaders, CancellationToken cancellationToken) : ServerCallContext
{
    private readonly Metadata _responseTrailers = [];
    private Status _status;
    private WriteOptions? _writeOptions;

    public static TestServerCallContext Create(Metadata? headers = null, CancellationToken cancellationToken = default) =>
        new(headers ?? [], cancellationToken);

    protected override string MethodCore => "/mmcluster.dashboard.v1.Dashboard/Test";
    protected override string HostCore => "localhost";
    protected override string PeerCore => "ipv4:127.0.0.1:1";
    protected override DateTime DeadlineCore => DateTime.MaxValue;
    protected override Metadata RequestHeadersCore => requestHeaders;
    protected override CancellationToken CancellationTokenCore => cancellationToken;
    protected override Metadata ResponseTrailersCore => _responseTrailers;
    protected override Status StatusCore { get => _status; set => _status = value; }
    protected override WriteOptions? WriteOptionsCore { get => _writeOptions; set => _writeOptions = value; }
    protected override AuthContext AuthContextCore => new(null, new Dictionary<string, List<AuthProperty>>());

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
