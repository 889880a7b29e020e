using System.Net;

namespace MmCluster.Coordinator.Web;

/// <summary>Where the web dashboard (HTTP/1.1: the page, its JSON API and event stream) listens and what it serves.</summary>
public sealed record WebDashboardOptions
{
    /// <summary>The coordinator's and <c>mmcluster dashboard</c>'s port unless told otherwise (the gRPC dashboard's + 1).</summary>
    public const int DefaultPort = 5081;

    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>0 picks a free port; read the bound one from <see cref="WebDashboardServer.Address"/>.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The bearer token every API call must carry; null or empty: the API is open.</summary>
    public string? Token { get; init; }

    public WebDashboardMode Mode { get; init; } = WebDashboardMode.Live;

    /// <summary>The run directory whose checkpoints, logs and run files <c>/api/files</c> lists; null: none.</summary>
    public string? RunDirectory { get; init; }

    /// <summary>The event stream sends at most one snapshot per this interval (newer ones replace older ones meanwhile).</summary>
    public TimeSpan CoalesceInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A comment line on an idle event stream this often, so proxies keep it open and clients see it alive.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(15);

    public bool TokenRequired => !string.IsNullOrEmpty(Token);
}
