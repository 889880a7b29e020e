using Akka.Actor;
using Akka.TestKit;
using MmCluster.Coordinator.Actors;
using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Coordinator.Tests.Actors;

/// <summary>Recovery policies and TestProbe workers that abort and restart generations, for the RunActor recovery specs.</summary>
internal static class RecoveryProbes
{
    /// <summary>How long a spec waits for a message: generous, the machine is shared.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Recovery on; waits default to values no spec reaches unless it means to.</summary>
    public static RecoverySettings Policy(int minWorkers, TimeSpan? replacementWait = null, int maxRestarts = 5, TimeSpan? abortTimeout = null) =>
        new(true, minWorkers, replacementWait ?? TimeSpan.FromSeconds(60), maxRestarts, TimeSpan.FromHours(1), abortTimeout ?? TimeSpan.FromSeconds(60))
        {
            CoordinatorWait = TimeSpan.FromSeconds(90),
        };

    /// <summary>The worker is told to abort <paramref name="generation"/> and confirms it completed <paramref name="step"/>.</summary>
    public static AbortGeneration ConfirmAbort(IActorRef run, TestProbe worker, string workerId, long generation, long step)
    {
        var abort = worker.ExpectMsg<AbortGeneration>(a => a.Generation == generation, Wait);
        run.Tell(new GenerationAborted { WorkerId = workerId, Generation = generation, CompletedStep = step, Reason = "aborted by the coordinator" }, worker.Ref);
        return abort;
    }

    /// <summary>The worker's next DrainGeneration (a grow), answered with the step it stopped after.</summary>
    public static DrainGeneration ConfirmDrain(IActorRef run, TestProbe worker, string workerId, long generation, long step)
    {
        var drain = worker.ExpectMsg<DrainGeneration>(d => d.Generation == generation, Wait);
        run.Tell(new GenerationAborted { WorkerId = workerId, Generation = generation, CompletedStep = step, Reason = "drained" }, worker.Ref);
        return drain;
    }

    /// <summary>Every worker's next StartGeneration, in the order given.</summary>
    public static List<StartGeneration> Starts(params TestProbe[] workers) =>
        workers.Select(w => w.ExpectMsg<StartGeneration>(Wait)).ToList();
}
