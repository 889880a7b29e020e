using System.Text;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Hosting;
using MmCluster.Coordinator.Tests.Ledger;
using MmCluster.Shared.Hosting;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Hosting;

namespace MmCluster.Coordinator.Tests.Cluster;

/// <summary>
/// Entry point of this test assembly when <see cref="ClusterProcessSpecs"/> starts it as a process:
/// <c>coordinator WORLD SHARDS ROWS</c> or <c>worker SEED WORKER-ID</c>. Lines starting with an upper-case tag on
/// stdout are the protocol the specs read.
/// </summary>
public static class ClusterTestHost
{
    public static async Task<int> Main(string[] args)
    {
        var mode = args.ElementAtOrDefault(0);
        return mode switch
        {
            "coordinator" => await RunCoordinatorAsync(int.Parse(args[1]), int.Parse(args[2]), int.Parse(args[3])),
            "worker" => await RunWorkerAsync(args[1], args[2]),
            _ => Usage(),
        };
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: coordinator WORLD SHARDS ROWS | worker SEED WORKER-ID");
        return 2;
    }

    private static async Task<int> RunCoordinatorAsync(int world, int shards, int rows)
    {
        var options = new CoordinatorOptions
        {
            Akka = new AkkaSettings { Port = 0 },
            Run = new RunSettings("cluster-spec", world, Encoding.UTF8.GetBytes("""{"stage":"clip"}""")),
            PlanEpoch = TestPlans.Uniform(shards, rows),
            Listening = address => Say($"LISTENING {address}"),
            OnOutcome = outcome =>
            {
                foreach (var epoch in outcome.Final.Ledger.Epochs)
                {
                    Say($"LEDGER epoch={epoch.Epoch} expected={epoch.SamplesExpected} committed={epoch.SamplesCommitted} duplicates={epoch.Duplicates} missing={epoch.Missing}");
                }
                Say($"OUTCOME {(outcome.Succeeded ? "ok" : "failed")} {outcome.Message}");
            },
        };
        var result = await CoordinatorHost.RunAsync(options);
        return result.ExitCode;
    }

    private static async Task<int> RunWorkerAsync(string seed, string workerId)
    {
        var options = new WorkerOptions
        {
            Akka = new AkkaSettings { Port = 0, SeedNodes = [seed] },
            Agent = new WorkerAgentSettings(workerId, $"http://127.0.0.1:{50000 + workerId.Length}"),
        };
        var ended = await WorkerHost.RunAsync(options, new ScriptedSession([(0, 20), (1, 1000)], Say));
        Say($"ENDED {(ended.Succeeded ? "ok" : "failed")} {ended.Reason}");
        return ended.ExitCode;
    }

    internal static void Say(string line)
    {
        lock (Console.Out)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
