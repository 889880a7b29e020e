using System.Net;

namespace MmCluster.Coordinator.Services;

/// <summary>Where the dashboard listens (h2c) and the bearer token it asks for (none: open).</summary>
public sealed record DashboardOptions
{
    public const int DefaultPort = 5080;

    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>0 picks a free port (tests); read the bound one from <see cref="Hosting.DashboardServer.Address"/>.</summary>
    public int Port { get; init; } = DefaultPort;

    public string? Token { get; init; }
}
