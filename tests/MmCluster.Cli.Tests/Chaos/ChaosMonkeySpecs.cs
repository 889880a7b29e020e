using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using MmCluster.Cli.Chaos;
using MmCluster.Cli.Hosting;
using MmCluster.Shared.Grpc.Dashboard;
using Xunit;

namespace MmCluster.Cli.Tests.Chaos;

/// <summary>The chaos executor on a tiny real child (<c>sleep</c>) standing in for a worker: no training run.</summary>
public sealed class ChaosMonkeySpecs : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-chaos-").FullName;
    private readonly ConcurrentQueue<string> console = new();

    [Fact]
    public async Task Should_freeze_then_kill_the_target_and_journal_each_signal_when_the_plan_says_so()
    {
        await using var child = ChildProcess.Start("worker-0", new ProcessStartInfo("sleep") { ArgumentList = { "30" } },
            new Dictionary<string, string>(), Path.Combine(root, "worker-0.log"));
        var journal = new ChaosJournal(Path.Combine(root, "chaos.jsonl"));
        var snapshot = new RunSnapshot { State = RunState.Running, Stage = "clip", Step = 7 };
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var monkey = new ChaosMonkey(new ChaosScheduler(ChaosPlan.Parse("stop worker-0 for 300ms at step 5; kill worker-0 after 4s; kill worker-1 after 4s"), 2),
            target => target == "worker-0" ? child : null, journal, console.Enqueue);

        var running = monkey.RunAsync(() => snapshot, cancel.Token);
        await child.WaitAsync(cancel.Token);
        await monkey.DisposeAsync();
        await running;

        Assert.Equal(128 + 9, child.ExitCode);
        var records = File.ReadAllLines(journal.Path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["stop", "cont", "kill", "kill"], records.Select(r => r.GetProperty("action").GetString()));
        Assert.Equal(["sent", "sent", "sent", "not running"], records.Select(r => r.GetProperty("result").GetString()));
        Assert.Equal(child.Pid, records[0].GetProperty("pid").GetInt32());
        Assert.Equal(7, records[0].GetProperty("step").GetInt64());
        Assert.Equal("clip", records[0].GetProperty("stage").GetString());
        Assert.Equal("stop worker-0 for 300ms at step 5", records[0].GetProperty("clause").GetString());
        Assert.False(records[3].TryGetProperty("pid", out _));
        Assert.Contains(console, l => l.StartsWith($"chaos: kill worker-0 after 4s: SIGKILL to worker-0 (pid {child.Pid}) at Running stage clip step 7", StringComparison.Ordinal));
        Assert.Contains("chaos: kill worker-1 after 4s: worker-1 is not running (restarting?); skipped", console);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
