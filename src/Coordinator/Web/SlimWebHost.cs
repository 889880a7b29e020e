using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace MmCluster.Coordinator.Web;

/// <summary>
/// Starts a minimal ASP.NET Core host on one Kestrel endpoint, quiet (warnings only), and reports the address it bound
/// (port 0 picks a free one): the shell of the gRPC dashboard's and the web dashboard's servers.
/// </summary>
public static class SlimWebHost
{
    public static async Task<(WebApplication App, Uri Bound)> StartAsync(
        Action<KestrelServerOptions> listen, Action<IServiceCollection> services, Action<WebApplication> map, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(listen);
        services(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(bound));
    }
}
