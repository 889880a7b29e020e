using System.Globalization;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;

namespace MmCluster.Shared.Hosting;

/// <summary>The one place that turns <see cref="AkkaSettings"/> into an Akka.NET cluster member (no .conf files).</summary>
public static class AkkaHostingExtensions
{
    /// <summary>
    /// Remoting on the configured address, Akka.Cluster with the configured seeds and roles, and the split-brain
    /// resolver. Control messages are protobuf <c>IMessage</c>s, which Akka.Remote serializes with its protobuf
    /// serializer (manifest = type name, payload = <c>ToByteArray</c>); no JSON crosses a process.
    /// </summary>
    public static AkkaConfigurationBuilder WithMmCluster(this AkkaConfigurationBuilder builder, AkkaSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        builder
            .ConfigureLoggers(loggers => loggers.LogLevel = ParseLogLevel(settings.LogLevel))
            .WithRemoting(new RemoteOptions
            {
                HostName = settings.Hostname,
                Port = settings.Port,
                PublicHostName = string.IsNullOrEmpty(settings.PublicHostname) ? settings.Hostname : settings.PublicHostname,
            })
            .WithClustering(new ClusterOptions
            {
                Roles = settings.Roles.ToArray(),
                SeedNodes = settings.SeedNodes.ToArray(),
                // The coordinator is the oldest member (it founds the cluster): whatever partition holds it survives,
                // so it is never downed by a worker's death and can tell the survivors why the run stopped.
                SplitBrainResolver = new KeepOldestOption { DownIfAlone = false, Role = ClusterRoles.Coordinator },
            })
            .AddHocon(ClusterTimingHocon(settings), HoconAddMode.Prepend);
        return builder;
    }

    private static string ClusterTimingHocon(AkkaSettings settings)
    {
        var stableAfter = Milliseconds(settings.SplitBrainStableAfter);
        var pause = Milliseconds(settings.AcceptableHeartbeatPause);
        return $$"""
            akka.cluster.split-brain-resolver.stable-after = {{stableAfter}}ms
            akka.cluster.failure-detector.acceptable-heartbeat-pause = {{pause}}ms
            akka.coordinated-shutdown.exit-clr = off
            """;
    }

    private static string Milliseconds(TimeSpan span)
    {
        if (span <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(span), span, "Akka cluster timings must be positive.");
        }
        return ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
    }

    private static LogLevel ParseLogLevel(string level) => level.Trim().ToLowerInvariant() switch
    {
        "debug" => LogLevel.DebugLevel,
        "info" or "information" => LogLevel.InfoLevel,
        "warning" or "warn" => LogLevel.WarningLevel,
        "error" => LogLevel.ErrorLevel,
        _ => throw new ArgumentException($"Akka:LogLevel '{level}' is not one of Debug, Info, Warning, Error.", nameof(level)),
    };
}
