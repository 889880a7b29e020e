using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Cluster;

/// <summary>A real cluster: a coordinator process and two worker processes on loopback, OS-chosen ports.</summary>
public sealed partial class ClusterProcessSpecs(ITestOutputHelper output)
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);

    [Fact]
    public void Should_do_every_shard_once_then_fail_naming_the_worker_when_a_worker_process_is_killed()
    {
        const int shards = 12, rows = 10;
        using var coordinator = new HostProcess("coordinator", output, "coordinator", "2", $"{shards}", $"{rows}");
        var seed = coordinator.WaitForLine(l => l.StartsWith("LISTENING ", StringComparison.Ordinal), Startup)["LISTENING ".Length..];
        using var worker0 = new HostProcess("worker-0", output, "worker", seed, "worker-0");
        using var worker1 = new HostProcess("worker-1", output, "worker", seed, "worker-1");

        var generations = new[] { worker0, worker1 }.Select(w => w.WaitForLine(l => l.StartsWith("GENERATION ", StringComparison.Ordinal), Startup)).ToList();
        Assert.Equal(["rank=0", "rank=1"], generations.Select(g => g.Split(' ')[1]));
        Assert.Equal(generations[0].Split(' ')[3], generations[1].Split(' ')[3]);
        Assert.Contains("peers=0:worker-0@", generations[0]);

        worker0.WaitForLine(l => l.StartsWith("COMMITTED epoch=0 ", StringComparison.Ordinal), Startup);
        worker1.WaitForLine(l => l.StartsWith("COMMITTED epoch=0 ", StringComparison.Ordinal), Startup);
        var done0 = ShardsDone(worker0, epoch: 0);
        var done1 = ShardsDone(worker1, epoch: 0);
        Assert.Empty(done0.Intersect(done1));
        Assert.Equal(Enumerable.Range(0, shards), done0.Concat(done1).Order());

        var clock = Stopwatch.StartNew();
        worker1.Kill();

        var outcome = coordinator.WaitForLine(l => l.StartsWith("OUTCOME ", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        output.WriteLine($"coordinator reported the failure {clock.Elapsed.TotalSeconds:0.0} s after the kill");
        Assert.StartsWith("OUTCOME failed ", outcome);
        Assert.Contains("worker worker-1 (rank 1, akka.tcp://", outcome);
        Assert.Contains($"LEDGER epoch=0 expected={shards * rows} committed={shards * rows} duplicates=0 missing=0", coordinator.Lines);
        var survivor = worker0.WaitForLine(l => l.StartsWith("ENDED ", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        Assert.Contains("ENDED failed worker worker-1", survivor);
        // 3: the coordinator ended the run (RunEnded.FinalExitCode): a supervisor must not restart this worker.
        Assert.Equal(3, worker0.WaitForExit(TimeSpan.FromSeconds(30)));
        output.WriteLine($"the surviving worker exited {clock.Elapsed.TotalSeconds:0.0} s after the kill");
        Assert.Equal(1, coordinator.WaitForExit(TimeSpan.FromSeconds(30)));
        output.WriteLine($"the coordinator exited {clock.Elapsed.TotalSeconds:0.0} s after the kill");
    }

    private static List<int> ShardsDone(HostProcess worker, int epoch) => worker.Lines
        .Select(l => ShardLine().Match(l))
        .Where(m => m.Success && int.Parse(m.Groups[1].Value) == epoch)
        .Select(m => int.Parse(m.Groups[2].Value))
        .ToList();

    [GeneratedRegex(@"^SHARD epoch=(\d+) id=(\d+)$")]
    private static partial Regex ShardLine();
}
