using System.Net;
using System.Text;
using Akka.Actor;
using Grpc.Core;
using Grpc.Net.Client;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Hosting;
using MmCluster.Coordinator.Ledger;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Coordinator.Tests.Progress;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Grpc.Dashboard;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Hosting;

/// <summary>
/// A worker's device (from its registration) and memory (from its progress reports) on their way to the dashboard: a real
/// RunActor, the dashboard feed actor, the hub, and the gRPC dashboard on a loopback h2c endpoint called by a real client.
/// </summary>
public sealed class WorkerResourcesDashboardSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    [Fact]
    public async Task Should_show_each_worker_s_device_and_memory_in_the_dashboard_when_workers_register_and_report()
    {
        var ledger = CreateTestProbe();
        ledger.IgnoreMessages<BeginLedgerGeneration>();
        var settings = new RunSettings("run-m", 2, Encoding.UTF8.GetBytes("""{"stage":"clip"}"""));
        var run = Sys.ActorOf(RunActor.Props(settings, ledger.Ref, _ => { }), "run");
        var hub = new RunProgressHub(RunSnapshots.Pending());
        Sys.ActorOf(RunProgressFeedActor.Props(run, hub, "clip"), "dashboard-feed");
        await using var server = await DashboardServer.StartAsync(new DashboardOptions { Address = IPAddress.Loopback, Port = 0, Token = "t0k" }, hub);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var client = new Dashboard.DashboardClient(channel);
        var auth = new Metadata { { "authorization", "Bearer t0k" } };

        var gpu = CreateTestProbe("worker-0");
        var cpu = CreateTestProbe("worker-1");
        run.Tell(new RegisterWorker { WorkerId = "worker-0", CollectiveAddress = "http://worker-0:5100", Device = "cuda:0", Threads = 4 }, gpu.Ref);
        run.Tell(new RegisterWorker { WorkerId = "worker-1", CollectiveAddress = "http://worker-1:5100", Device = "cpu", Threads = 2 }, cpu.Ref);
        gpu.ExpectMsg<StartGeneration>();
        cpu.ExpectMsg<StartGeneration>();
        var memory = new WorkerMemory { ResidentBytes = 3L << 30, PeakResidentBytes = 5L << 30, ManagedHeapBytes = 96L << 20 };
        run.Tell(new ReportProgress { WorkerId = "worker-0", Rank = 0, Step = 4, Loss = 2.0, Memory = memory }, gpu.Ref);
        // A worker without /proc: only its managed heap.
        run.Tell(new ReportProgress { WorkerId = "worker-1", Rank = 1, Step = 4, Loss = 2.0, Memory = new WorkerMemory { ManagedHeapBytes = 1L << 20 } }, cpu.Ref);

        await AwaitAssertAsync(async () =>
        {
            var snapshot = (await client.GetStatusAsync(new GetStatusRequest(), auth)).Snapshot;
            var workers = snapshot.Workers.OrderBy(w => w.Rank).ToList();
            Assert.Equal(2, workers.Count);
            Assert.Equal(("cuda:0", 3L << 30, 5L << 30, 96L << 20), (workers[0].Device, workers[0].ResidentBytes, workers[0].PeakResidentBytes, workers[0].ManagedHeapBytes));
            Assert.Equal(("cpu", false, false, 1L << 20), (workers[1].Device, workers[1].HasResidentBytes, workers[1].HasPeakResidentBytes, workers[1].ManagedHeapBytes));
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
    }
}
