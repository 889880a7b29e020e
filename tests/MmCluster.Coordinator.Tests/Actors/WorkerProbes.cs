using Akka.Actor;
using Akka.TestKit;
using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Coordinator.Tests.Actors;

/// <summary>TestProbe workers for the RunActor specs.</summary>
internal static class WorkerProbes
{
    /// <summary>
    /// A probe named <paramref name="workerId"/> (or <paramref name="probeName"/>: a replacement while the lost worker's
    /// probe still lives) that registered with <paramref name="run"/> on <paramref name="device"/>.
    /// </summary>
    public static TestProbe Register(TestKitBase kit, IActorRef run, string workerId, string? probeName = null, string device = "cpu", string jobUid = "")
    {
        var probe = kit.CreateTestProbe(probeName ?? workerId);
        run.Tell(new RegisterWorker { WorkerId = workerId, CollectiveAddress = $"http://{workerId}:5100", Device = device, Threads = 1, JobUid = jobUid }, probe.Ref);
        return probe;
    }
}
