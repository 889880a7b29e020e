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
    public async Task Should_end_as_done_when_no_coordinator_comes_up_and_the_shared_run_directory_shows_its_jobs_run_finished()
    {
        // A lost worker's replacement that starts after the run ended and its coordinator left: the run's summary.json on
        // the volume it shares with the coordinator (MMCLUSTER_RUN_DIR) lists this pod's Job (MMCLUSTER_JOB_UID).
        var seed = $"akka.tcp://mmcluster@127.0.0.1:{FreePort()}";
        var runDir = Directory.CreateTempSubdirectory("mmcluster-late-").FullName;
        try
        {
            WriteSucceededSummary(runDir, "5d7e0f4c-1111-4000-8000-00000000abcd");

            var (exit, log) = await CliHarness.RunAsync(
                ["worker", "--coordinator", seed, "--worker-id", "worker-1", "--join-timeout", "3", "--token", "s3cret", "--run-dir", runDir,
                    "--job-uid", "5d7e0f4c-1111-4000-8000-00000000abcd"],
                TimeSpan.FromMinutes(1), output);

            Assert.True(exit == 0, $"exit {exit}:\n{log}");
            Assert.Contains("worker worker-1: run demo-20261208-010000 ('demo') of this worker's Job finished at", log);
            Assert.Contains("a late replacement with nothing left to do; ending as done", log);
        }
        finally
        {
            Directory.Delete(runDir, recursive: true);
        }
    }

    [Fact]
    public async Task Should_still_fail_when_no_coordinator_comes_up_and_the_shared_run_directory_holds_another_jobs_run()
    {
        var seed = $"akka.tcp://mmcluster@127.0.0.1:{FreePort()}";
        var runDir = Directory.CreateTempSubdirectory("mmcluster-late-").FullName;
        try
        {
            WriteSucceededSummary(runDir, "5d7e0f4c-1111-4000-8000-00000000abcd");   // an earlier run's summary

            var (exit, log) = await CliHarness.RunAsync(
                ["worker", "--coordinator", seed, "--worker-id", "worker-1", "--join-timeout", "3", "--token", "s3cret", "--run-dir", runDir,
                    "--job-uid", "99999999-2222-4000-8000-000000000000"],
                TimeSpan.FromMinutes(1), output);

            Assert.Equal(1, exit);
            Assert.Contains($"worker worker-1 saw no coordinator at {seed} within 3 s", log);
            Assert.Contains("whose workers were not of this worker's Job 99999999-2222-4000-8000-000000000000", log);
        }
        finally
        {
            Directory.Delete(runDir, recursive: true);
        }
    }

    private static void WriteSucceededSummary(string runDir, string job) => new MmCluster.Shared.Runs.RunSummary
    {
        Status = "succeeded", RunId = "demo-20261208-010000", RunName = "demo", WorldSize = 2,
        StartedAt = DateTimeOffset.UtcNow.AddMinutes(-30), FinishedAt = DateTimeOffset.UtcNow.AddMinutes(-5), WorkerJobs = [job],
    }.Write(Path.Combine(runDir, "summary.json"));

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
