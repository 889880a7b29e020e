using System.Collections.Concurrent;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Hosting;
using MmCluster.Coordinator.Tests.Ledger;
using MmCluster.Shared.Hosting;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Cluster;

/// <summary>The coordinator and two workers as three hosted actor systems in this process, clustered over loopback.</summary>
public sealed class HostedClusterSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<IHost> hosts = [];
    private readonly ConcurrentQueue<string> said = new();

    [Fact]
    public async Task Should_finish_the_run_with_every_sample_committed_when_both_workers_finish()
    {
        var run = await StartCoordinatorAsync(shards: 8, rows: 5);
        var seed = await run.Seed;
        await StartWorkerAsync(seed, "worker-0", [(0, 5)]);
        await StartWorkerAsync(seed, "worker-1", [(0, 5)]);

        var outcome = await run.Run.Outcome.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(outcome.Succeeded, outcome.Message);
        var epoch = Assert.Single(outcome.Final.Ledger.Epochs);
        Assert.Equal((40L, 40L, 0L, 0L), (epoch.SamplesExpected, epoch.SamplesCommitted, epoch.Duplicates, epoch.Missing));
        Assert.Equal(1000, outcome.Final.LastCommittedStep);
    }

    [Fact]
    public async Task Should_fail_the_run_naming_the_worker_when_a_worker_leaves_the_cluster_mid_run()
    {
        var run = await StartCoordinatorAsync(shards: 8, rows: 5);
        var seed = await run.Seed;
        await StartWorkerAsync(seed, "worker-0", [(0, 1000)]);
        var leaving = await StartWorkerAsync(seed, "worker-1", [(0, 1000)]);
        await WaitUntilAsync(() => said.Count(l => l.Contains("GENERATION", StringComparison.Ordinal)) == 2);

        await leaving.StopAsync();

        var outcome = await run.Run.Outcome.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.False(outcome.Succeeded);
        Assert.Contains("worker worker-1 (rank 1, akka.tcp://", outcome.Message);
        Assert.Equal(RunPhase.Failed, outcome.Final.Phase);
        await WaitUntilAsync(() => said.Any(l => l.StartsWith("worker-0 RUN-ENDED failed worker worker-1 (rank 1", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Should_fail_the_run_and_tell_the_workers_when_the_coordinator_is_stopped()
    {
        using var stop = new CancellationTokenSource();
        var seed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new CoordinatorOptions
        {
            Akka = new AkkaSettings { Port = 0 },
            Run = new RunSettings("stopped", 1, "{}"u8.ToArray()),
            PlanEpoch = TestPlans.Uniform(4, 5),
            Listening = address => seed.TrySetResult(address),
        };
        var coordinator = CoordinatorHost.RunAsync(options, stop.Token);
        await StartWorkerAsync(await seed.Task.WaitAsync(TimeSpan.FromSeconds(30)), "worker-0", [(0, 1000)]);
        await WaitUntilAsync(() => said.Any(l => l.Contains("GENERATION", StringComparison.Ordinal)));

        stop.Cancel();

        var outcome = await coordinator.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("the coordinator was stopped", outcome.Message);
        await WaitUntilAsync(() => said.Any(l => l.StartsWith("worker-0 RUN-ENDED failed", StringComparison.Ordinal)));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Task.WhenAll(hosts.Select(host => host.StopAsync()));
        foreach (var host in hosts)
        {
            host.Dispose();
        }
    }

    private async Task<(CoordinatorRun Run, Task<string> Seed)> StartCoordinatorAsync(int shards, int rows)
    {
        var seed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new CoordinatorOptions
        {
            Akka = new AkkaSettings { Port = 0 },
            Run = new RunSettings("hosted", 2, "{}"u8.ToArray()),
            PlanEpoch = TestPlans.Uniform(shards, rows),
            Listening = address => seed.TrySetResult(address),
        };
        var host = await StartAsync(services => services.AddMmCoordinator(options));
        return (host.Services.GetRequiredService<CoordinatorRun>(), seed.Task);
    }

    private Task<IHost> StartWorkerAsync(string seed, string workerId, IReadOnlyList<(int, int)> epochs)
    {
        var options = new WorkerOptions
        {
            Akka = new AkkaSettings { Port = 0, SeedNodes = [seed] },
            Agent = new WorkerAgentSettings(workerId, $"http://127.0.0.1:1/{workerId}"),
        };
        return StartAsync(services => services.AddMmWorker(options, new ScriptedSession(epochs, line => Say($"{workerId} {line}"))));
    }

    private async Task<IHost> StartAsync(Action<IServiceCollection> configure)
    {
        var host = ClusterProcessHost.Build(configure);
        hosts.Add(host);
        await host.StartAsync();
        return host;
    }

    private void Say(string line)
    {
        said.Enqueue(line);
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test already finished; its output helper is closed.
        }
    }

    private async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met within 30 s; said:\n{string.Join('\n', said)}");
            await Task.Delay(50);
        }
    }
}
