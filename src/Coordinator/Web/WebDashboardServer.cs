using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using MmCluster.Coordinator.Progress;

namespace MmCluster.Coordinator.Web;

/// <summary>
/// The web dashboard on its own Kestrel endpoint, HTTP/1.1 only (a browser's page and EventSource; the gRPC dashboard
/// keeps its h2c endpoint): the page, its JSON API and its event stream over any <see cref="IRunProgressSource"/>, the
/// live coordinator's <see cref="RunProgressHub"/> or a finished run's files (<see cref="RunFilesProgressSource"/>).
/// </summary>
public sealed class WebDashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebDashboardServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The page's URL, e.g. <c>http://127.0.0.1:5081/</c> (a wildcard bind is shown as loopback).</summary>
    public Uri Address { get; }

    /// <summary>The link to open: <see cref="Address"/> with <c>?token=</c> when a token is set (the page takes it from there).</summary>
    public static string PageUrl(Uri address, string? token) =>
        string.IsNullOrEmpty(token) ? address.ToString() : $"{address}?token={Uri.EscapeDataString(token)}";

    public static async Task<WebDashboardServer> StartAsync(WebDashboardOptions options, IRunProgressSource source, CancellationToken cancellationToken = default)
    {
        var (app, bound) = await SlimWebHost.StartAsync(
            k => k.Listen(options.Address, options.Port, listen => listen.Protocols = HttpProtocols.Http1),
            // An open event stream ends when the host stops (ApplicationStopping); nothing else to wait for.
            services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5)),
            app => app.MapWebDashboard(options, source), cancellationToken);
        var host = options.Address.Equals(IPAddress.Any) || options.Address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : bound.Host;
        return new WebDashboardServer(app, new UriBuilder("http", host, bound.Port, "/").Uri);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
