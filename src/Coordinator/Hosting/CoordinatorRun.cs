using Akka.Actor;
using MmCluster.Coordinator.Actors;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// The coordinator's run as a service: the RunActor to ask for snapshots (the dashboard) and the outcome the process
/// exits with. Registered as a singleton by <see cref="CoordinatorHost.AddMmCoordinator"/>.
/// </summary>
public sealed class CoordinatorRun
{
    private readonly TaskCompletionSource<RunOutcome> outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<IActorRef> runActor = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when every worker finished or the run failed.</summary>
    public Task<RunOutcome> Outcome => outcome.Task;

    /// <summary>The RunActor (<c>/user/run</c>): Ask it <see cref="GetRunStatus"/> or subscribe with <see cref="SubscribeRunStatus"/>.</summary>
    public Task<IActorRef> RunActor => runActor.Task;

    internal void SetRunActor(IActorRef actor) => runActor.TrySetResult(actor);

    internal void SetOutcome(RunOutcome result) => outcome.TrySetResult(result);
}
