using Microsoft.AspNetCore.Builder;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Coordinator.Web;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// A running dashboard on its own Kestrel h2c endpoint: for a coordinator that hosts nothing else over HTTP, for
/// <c>mmcluster dev</c>, and for tests (port 0 picks a free port; <see cref="Address"/> is the bound one).
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DashboardServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The URL a client dials, e.g. <c>http://127.0.0.1:5080</c>.</summary>
    public Uri Address { get; }

    public static async Task<DashboardServer> StartAsync(DashboardOptions options, IRunProgressSource source, CancellationToken cancellationToken = default)
    {
        var (app, bound) = await SlimWebHost.StartAsync(
            k => k.ListenH2c(options.Address, options.Port), services => services.AddDashboard(options, source), app => app.MapDashboard(), cancellationToken);
        return new DashboardServer(app, bound);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
