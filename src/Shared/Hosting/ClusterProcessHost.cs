using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MmCluster.Shared.Hosting;

/// <summary>
/// The process shell shared by the coordinator and the worker: a generic host whose console lifetime turns Ctrl-C and
/// SIGTERM into a host stop, which Akka.Hosting turns into CoordinatedShutdown (a graceful cluster leave).
/// </summary>
public static class ClusterProcessHost
{
    /// <summary>Builds the host with the services <paramref name="configureServices"/> adds (Akka among them).</summary>
    public static IHost Build(Action<IServiceCollection> configureServices)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        configureServices(builder.Services);
        return builder.Build();
    }

    /// <summary>
    /// Starts the host and waits for <paramref name="outcome"/>. When the host is asked to stop first (Ctrl-C,
    /// SIGTERM) or <paramref name="cancellationToken"/> fires, <paramref name="onStopRequested"/> produces the outcome
    /// (e.g. tells the peers). <paramref name="report"/> sees the outcome at once; then the host stops: the member
    /// leaves the cluster (which can take seconds while a dead member is still being downed).
    /// </summary>
    public static async Task<T> RunUntilAsync<T>(IHost host, Task<T> outcome, Func<Task<T>> onStopRequested, Action<T> report,
        CancellationToken cancellationToken)
    {
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        var stopRequested = Task.Delay(Timeout.Infinite, stop.Token);
        try
        {
            var first = await Task.WhenAny(outcome, stopRequested).ConfigureAwait(false);
            var result = first == outcome ? await outcome.ConfigureAwait(false) : await onStopRequested().ConfigureAwait(false);
            report(result);
            return result;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
