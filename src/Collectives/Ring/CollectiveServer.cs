using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using MmCluster.Shared.Security;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// Hosts <see cref="CollectiveService"/> on its own Kestrel (h2c, HTTP/2 only) at a given host:port; port 0 lets the OS
/// choose and <see cref="Address"/> reports the bound one. Start it before creating a <see cref="GrpcCollectiveGroup"/>,
/// publish <see cref="Address"/> to the other ranks, then create the group. Large HTTP/2 windows and unlimited message and
/// body sizes, so a ring edge can run at link speed. Also serves <c>grpc.health.v1.Health</c> without a token (the
/// Kubernetes probes of a worker pod). Beside it, on the same IP and a port of its own, a <see cref="TcpLaneListener"/>
/// for the bulk TCP lanes that its groups agree to send on.
/// </summary>
public sealed class CollectiveServer : IAsyncDisposable
{
    /// <summary>HTTP/2 flow-control windows on both ends: a few chunks in flight per stream, many per connection.</summary>
    internal const int StreamWindowBytes = 16 << 20;
    internal const int ConnectionWindowBytes = 64 << 20;

    private readonly WebApplication _app;

    private CollectiveServer(WebApplication app, string address, CollectiveServerOptions options, TcpLaneListener tcpLanes)
    {
        _app = app;
        TcpLanes = tcpLanes;
        Address = address;
        Options = options;
        Registry = app.Services.GetRequiredService<CollectiveRegistry>();
    }

    /// <summary>The bound address, <c>http://host:port</c>, as the other ranks must dial it.</summary>
    public string Address { get; }

    public int Port => new Uri(Address).Port;

    /// <summary>How this server was started: its token, and the transport and client this worker's groups use.</summary>
    public CollectiveServerOptions Options { get; }

    /// <summary>The transport this worker's training groups use (<see cref="CollectiveGroupOptions.Transport"/>).</summary>
    public CollectiveTransport Transport => Options.Transport;

    /// <summary>
    /// The options of one group of this worker: who it is in the generation, with this server's token, transport and client.
    /// </summary>
    public CollectiveGroupOptions GroupOptions(string runId, long generation, int rank, IReadOnlyList<string> peerAddresses) =>
        new(runId, generation, rank, peerAddresses, Options.BearerToken)
        {
            Transport = Options.Transport,
            ReferenceClient = Options.ReferenceClient,
        };

    /// <summary>Where this rank's receivers connect the bulk TCP lanes it agrees to send on (<see cref="CollectiveTransport.Tcp"/>).</summary>
    internal TcpLaneListener TcpLanes { get; }

    /// <summary>The groups this server routes streams to; <see cref="GrpcCollectiveGroup.Create"/> registers with it.</summary>
    public CollectiveRegistry Registry { get; }

    /// <summary>
    /// Starts Kestrel on <see cref="CollectiveServerOptions.Host"/> and <see cref="CollectiveServerOptions.Port"/> (0 = any free
    /// port). Every Collective call is checked for the token before anything else; the health service stays open.
    /// </summary>
    public static async Task<CollectiveServer> StartAsync(CollectiveServerOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var host = options.Host;
        var ip = host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) ? parsed
            : throw new ArgumentException($"collective server host '{host}' is not an IP address or 'localhost'");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseSockets(sockets => sockets.MaxWriteBufferSize = 4 << 20);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxResponseBufferSize = 4 << 20;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null; // edge streams idle between operations
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Limits.Http2.InitialConnectionWindowSize = ConnectionWindowBytes;
            kestrel.Limits.Http2.InitialStreamWindowSize = StreamWindowBytes;
            kestrel.Limits.Http2.MaxFrameSize = (1 << 24) - 1;
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            kestrel.Listen(ip, options.Port, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddSingleton(new BearerTokenInterceptor(options.BearerToken));
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = null;
            grpc.MaxSendMessageSize = null;
            grpc.EnableDetailedErrors = true;
        }).AddServiceOptions<CollectiveService>(o => o.Interceptors.Add<BearerTokenInterceptor>());
        builder.Services.AddSingleton<CollectiveRegistry>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LargeBlockMemoryPool.Factory>();
        builder.Services.AddGrpcHealthChecks().AddCheck("collectives", () => HealthCheckResult.Healthy("serving"));
        var app = builder.Build();
        app.MapGrpcService<CollectiveService>();
        app.MapGrpcHealthChecksService(); // grpc.health.v1: Kubernetes' grpc readiness and liveness probes
        await app.StartAsync(ct).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel started without reporting its address");
        var boundPort = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal)).Port;
        var hostText = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        var tcpLanes = new TcpLaneListener(ip, options.BearerToken, options.Logger);
        return new CollectiveServer(app, $"http://{hostText}:{boundPort}", options, tcpLanes);
    }

    /// <summary>
    /// True from the moment <see cref="DisposeAsync"/> starts: a stream this server serves that breaks from then on broke
    /// because this server stopped, not because the peer at its other end died.
    /// </summary>
    internal bool IsStopping => Volatile.Read(ref _stopping) != 0;

    private int _stopping;

    /// <summary>Stops at once: open streams are aborted, so peers in the middle of an operation fail fast.</summary>
    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _stopping, 1);
        await TcpLanes.DisposeAsync().ConfigureAwait(false);
        using var now = new CancellationTokenSource();
        await now.CancelAsync().ConfigureAwait(false);
        try
        {
            await _app.StopAsync(now.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
