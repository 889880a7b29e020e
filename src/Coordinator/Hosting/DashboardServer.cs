using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;

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
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.ListenH2c(options.Address, options.Port));
        builder.Services.AddDashboard(options, source);
        var app = builder.Build();
        app.MapDashboard();
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DashboardServer(app, new Uri(bound));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
