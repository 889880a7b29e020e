using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Shared.Security;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// Wires the dashboard into an ASP.NET Core host: the <see cref="DashboardService"/> behind the
/// <see cref="BearerTokenInterceptor"/>, and the standard gRPC health service (open, for Kubernetes probes).
/// </summary>
public static class DashboardHosting
{
    /// <summary>What a call without the dashboard's token is told, whatever it sent.</summary>
    public const string DashboardRefusal = BearerTokenInterceptor.DefaultRefusal + "; pass the run's token (mmcluster watch --token T)";

    public static IServiceCollection AddDashboard(this IServiceCollection services, DashboardOptions options, IRunProgressSource source)
    {
        services.AddSingleton(options);
        services.AddSingleton(source);
        services.AddSingleton(new BearerTokenInterceptor(options.Token, DashboardRefusal));
        services.AddGrpc().AddServiceOptions<DashboardService>(o => o.Interceptors.Add<BearerTokenInterceptor>());
        // One check so the overall ("") status is Serving while the process answers; the RunActor may add its own.
        services.AddGrpcHealthChecks().AddCheck("dashboard", () => HealthCheckResult.Healthy("serving"));
        return services;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        app.MapGrpcService<DashboardService>();
        app.MapGrpcHealthChecksService();
        return app;
    }

    /// <summary>An HTTP/2-only cleartext (h2c) endpoint on an explicit address; no request body limit.</summary>
    public static void ListenH2c(this KestrelServerOptions kestrel, IPAddress address, int port)
    {
        kestrel.Limits.MaxRequestBodySize = null;
        kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http2);
    }
}
