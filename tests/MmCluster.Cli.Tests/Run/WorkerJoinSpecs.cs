using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.Run;

/// <summary>A worker pointed at a coordinator that is not there gives up with a clear error instead of retrying for ever.</summary>
public sealed class WorkerJoinSpecs(ITestOutputHelper output)
{
    [Fact]
    public async Task Should_exit_naming_the_coordinator_address_when_no_coordinator_comes_up_within_the_join_timeout()
    {
        var seed = $"akka.tcp://mmcluster@127.0.0.1:{FreePort()}";   // nothing listens there
        var clock = Stopwatch.StartNew();

        var (exit, log) = await CliHarness.RunAsync(
            ["worker", "--coordinator", seed, "--worker-id", "worker-7", "--join-timeout", "3", "--token", "s3cret"], TimeSpan.FromMinutes(1), output);

        Assert.NotEqual(0, exit);
        Assert.Contains($"worker worker-7 saw no coordinator at {seed} within 3 s", log);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"the worker took {clock.Elapsed} to give up");
    }

    [Fact]
    public async Task Should_exit_naming_the_token_flag_when_a_worker_is_started_without_the_runs_secret()
    {
        var seed = $"akka.tcp://mmcluster@127.0.0.1:{FreePort()}";

        var (exit, log) = await CliHarness.RunAsync(
            ["worker", "--coordinator", seed, "--worker-id", "worker-7", "--join-timeout", "3", "--token", ""], TimeSpan.FromMinutes(1), output);

        Assert.NotEqual(0, exit);
        Assert.Contains("--token or MMCLUSTER_TOKEN", log);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
