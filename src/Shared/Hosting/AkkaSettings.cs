using Microsoft.Extensions.Configuration;

namespace MmCluster.Shared.Hosting;

/// <summary>
/// Where a process sits in the Akka.NET cluster: bound from the <c>Akka</c> configuration section, so environment
/// variables such as <c>Akka__SeedNodes__0</c> and <c>Akka__Port</c> (set by the k8s manifests and the dev cluster)
/// override <c>appsettings.json</c>.
/// </summary>
public sealed class AkkaSettings
{
    /// <summary>The configuration section the settings bind from.</summary>
    public const string SectionName = "Akka";

    /// <summary>Every member of one cluster uses the same system name.</summary>
    public string SystemName { get; set; } = "mmcluster";

    /// <summary>Address the remoting transport binds to.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Port the remoting transport binds to; 0 lets the OS choose a free one.</summary>
    public int Port { get; set; }

    /// <summary>Address other members use to reach this one (a pod's DNS name); defaults to <see cref="Hostname"/>.</summary>
    public string? PublicHostname { get; set; }

    /// <summary>Seed nodes, e.g. <c>akka.tcp://mmcluster@coordinator:4053</c>. Empty: this member founds the cluster.</summary>
    public List<string> SeedNodes { get; set; } = [];

    /// <summary>Cluster roles of this member: <c>coordinator</c> or <c>worker</c>.</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>How long the membership must be stable before the split-brain resolver downs unreachable members.</summary>
    public TimeSpan SplitBrainStableAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Heartbeat pause after which the failure detector marks a member unreachable. 5 s (Akka's default is 3 s) because
    /// training saturates every core of a small machine and can delay heartbeats; a killed worker is still reported in ~7 s.
    /// </summary>
    public TimeSpan AcceptableHeartbeatPause { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Akka log level: Debug, Info, Warning or Error.</summary>
    public string LogLevel { get; set; } = "Warning";

    /// <summary>Binds the <c>Akka</c> section of <paramref name="configuration"/> over the defaults.</summary>
    public static AkkaSettings FromConfiguration(IConfiguration configuration)
    {
        var settings = new AkkaSettings();
        configuration.GetSection(SectionName).Bind(settings);
        return settings;
    }
}
