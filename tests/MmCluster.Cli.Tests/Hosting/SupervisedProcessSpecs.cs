using System.Collections.Concurrent;
using System.Diagnostics;
using MmCluster.Cli.Hosting;
using Xunit;

namespace MmCluster.Cli.Tests.Hosting;

/// <summary>The dev cluster's supervisor on tiny real children (<c>/bin/sh</c>, <c>sleep</c>): no training run.</summary>
public sealed class SupervisedProcessSpecs : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-supervisor-").FullName;
    private readonly ConcurrentQueue<string> console = new();

    private string LogPath => Path.Combine(root, "logs", "child.log");

    [Fact]
    public async Task Should_restart_the_child_with_a_separator_in_its_log_when_it_is_killed()
    {
        await using var supervised = Supervise("echo started $0; exec sleep 30", maxRestarts: 3, mayRestart: () => true);
        await WaitForAsync(() => Log().Contains("started 0"));
        var first = supervised.Current.Pid;

        Assert.True(Posix.Kill(first));
        await WaitForAsync(() => Log().Contains("started 1"));

        Assert.NotEqual(first, supervised.Current.Pid);
        Assert.Equal(1, supervised.Restarts);
        var lines = Log().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("started 0", lines[0]);
        Assert.StartsWith("--- restarted after exit code 137 (SIGKILL) at ", lines[1]);
        Assert.EndsWith("(restart 1 of at most 3) ---", lines[1]);
        Assert.Equal("started 1", lines[2]);
        Assert.Equal(["child exited (SIGKILL); restarting"], console);

        await supervised.StopAsync(TimeSpan.FromSeconds(5));
        var last = await supervised.Exited.WaitAsync(Patience);
        Assert.Equal(1, supervised.Restarts);
        Assert.Equal(128 + 15, last.ExitCode);   // SIGTERM from the stop, not restarted
    }

    [Fact]
    public async Task Should_wait_for_the_hold_before_restarting_when_a_chaos_kill_keeps_the_child_away()
    {
        await using var supervised = Supervise("echo started $0; exec sleep 30", maxRestarts: 3, mayRestart: () => true);
        await WaitForAsync(() => Log().Contains("started 0"));

        supervised.HoldRestart(TimeSpan.FromSeconds(2));
        var killed = Stopwatch.StartNew();
        Assert.True(Posix.Kill(supervised.Current.Pid));
        await WaitForAsync(() => Log().Contains("started 1"));

        Assert.True(killed.Elapsed >= TimeSpan.FromSeconds(1.9), $"restarted after {killed.Elapsed}, before the 2 s hold ended");
        var line = Assert.Single(console);
        Assert.Matches(@"^child exited \(SIGKILL\); restarting in [12] s \(chaos keeps it away\)$", line);
    }

    [Fact]
    public async Task Should_stop_restarting_when_the_child_keeps_failing_past_the_limit()
    {
        await using var supervised = Supervise("echo run $0; exit 3", maxRestarts: 2, mayRestart: () => true);

        var last = await supervised.Exited.WaitAsync(Patience);

        Assert.Equal(3, last.ExitCode);
        Assert.Equal(2, supervised.Restarts);
        Assert.Equal(3, Log().Split('\n').Count(l => l.StartsWith("run ", StringComparison.Ordinal)));
        Assert.Equal(2, Log().Split('\n').Count(l => l.StartsWith("--- restarted after exit code 3 at ", StringComparison.Ordinal)));
        Assert.Equal(
        [
            "child exited (exit code 3); restarting",
            "child exited (exit code 3); restarting",
            "child exited (exit code 3); not restarting: it was restarted 2 times, the most --max-worker-restarts allows",
        ], console);
    }

    [Fact]
    public async Task Should_not_restart_when_the_child_succeeds_or_the_run_no_longer_needs_it()
    {
        await using (var succeeded = Supervise("exit 0", maxRestarts: 3, mayRestart: () => true))
        {
            Assert.Equal(0, (await succeeded.Exited.WaitAsync(Patience)).ExitCode);
            Assert.Equal(0, succeeded.Restarts);
        }
        await using var unneeded = Supervise("exit 1", maxRestarts: 3, mayRestart: () => false);

        Assert.Equal(1, (await unneeded.Exited.WaitAsync(Patience)).ExitCode);
        Assert.Equal(0, unneeded.Restarts);
        Assert.Empty(console);
        Assert.DoesNotContain("restarted", Log());
    }

    private SupervisedProcess Supervise(string script, int maxRestarts, Func<bool> mayRestart) =>
        SupervisedProcess.Start("child", restart =>
            {
                var info = new ProcessStartInfo("/bin/sh");
                info.ArgumentList.Add("-c");
                info.ArgumentList.Add(script);
                info.ArgumentList.Add(restart.ToString(System.Globalization.CultureInfo.InvariantCulture));   // $0
                return ChildProcess.Start("child", info, new Dictionary<string, string>(), LogPath);
            },
            new SupervisionOptions(maxRestarts, TimeSpan.FromMilliseconds(50)), mayRestart, console.Enqueue);

    private string Log() => File.Exists(LogPath) ? ReadShared(LogPath) : "";

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
