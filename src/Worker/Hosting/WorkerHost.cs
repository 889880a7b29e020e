using Akka;
using Akka.Actor;
using Akka.Hosting;
using MmCluster.Shared.Hosting;
using MmCluster.Worker.Actors;
using Microsoft.Extensions.DependencyInjection;

namespace MmCluster.Worker.Hosting;

/// <summary>
/// The worker process's Akka part: joins the cluster, starts the <see cref="WorkerAgentActor"/> (<c>/user/worker-agent</c>)
/// that registers and hands StartGeneration to the trainer, and returns when the run ends. Ctrl-C/SIGTERM makes the
/// worker leave the cluster gracefully (the coordinator then fails the run naming this worker).
/// </summary>
public static class WorkerHost
{
    /// <summary>Runs until the run ends for this worker; <see cref="RunEnded.ExitCode"/> is what the process should exit with.</summary>
    public static Task<RunEnded> RunAsync(WorkerOptions options, ITrainingSession session, CancellationToken cancellationToken = default) =>
        RunAsync(options, () => session, cancellationToken);

    /// <summary>
    /// Runs until the run ends for this worker. When the worker loses its coordinator in a run that lets it wait
    /// (<see cref="RunEnded.RejoinWithin"/>: the spec's <c>recovery.coordinator_wait</c>), the process does not exit: it
    /// stops its actor system, starts a new one that joins the same seed with the same worker id, and trains with a new
    /// session from <paramref name="newSession"/> (the restarted coordinator resumes from its last commit); it gives up
    /// when no coordinator is back within the wait.
    /// </summary>
    /// <param name="newSession">The session of one membership; called once at start and once per rejoin, after the
    /// previous membership's actor system stopped.</param>
    public static async Task<RunEnded> RunAsync(WorkerOptions options, Func<ITrainingSession> newSession, CancellationToken cancellationToken = default)
    {
        var ended = await RunMembershipAsync(options, newSession(), cancellationToken).ConfigureAwait(false);
        while (ended.RejoinWithin is { } wait && wait > TimeSpan.Zero && !cancellationToken.IsCancellationRequested)
        {
            Console.WriteLine($"worker {options.Agent.WorkerId}: {ended.Reason}; waiting up to {wait.TotalSeconds:0.#} s for the coordinator " +
                "to come back and rejoining with the same id (recovery.coordinator_wait)");
            options = options with { Agent = options.Agent with { JoinTimeout = wait, Rejoining = true } };
            ended = await RunMembershipAsync(options, newSession(), cancellationToken).ConfigureAwait(false);
        }
        return ended;
    }

    private static async Task<RunEnded> RunMembershipAsync(WorkerOptions options, ITrainingSession session, CancellationToken cancellationToken)
    {
        var ending = new EndingSession(session);
        using var host = ClusterProcessHost.Build(services => services.AddMmWorker(options, ending));
        return await ClusterProcessHost.RunUntilAsync(host, ending.Ended,
            () => Task.FromResult(new RunEnded(false, $"worker {options.Agent.WorkerId} was stopped (Ctrl-C, SIGTERM or shutdown)")),
            ended =>
            {
                if (!ended.Succeeded && ended.RejoinWithin is null)
                {
                    Console.Error.WriteLine($"mmcluster worker {options.Agent.WorkerId}: {ended.Reason}");
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds the worker's actor system and agent to a host (the worker's web host serving the collectives).</summary>
    public static IServiceCollection AddMmWorker(this IServiceCollection services, WorkerOptions options, ITrainingSession session)
    {
        var akka = options.Akka;
        if (!akka.Roles.Contains(ClusterRoles.Worker))
        {
            akka.Roles.Add(ClusterRoles.Worker);
        }
        if (akka.SeedNodes.Count == 0)
        {
            throw new ArgumentException(
                $"worker {options.Agent.WorkerId} needs the coordinator's address as a seed node (Akka:SeedNodes:0, e.g. akka.tcp://{akka.SystemName}@127.0.0.1:4053).",
                nameof(options));
        }
        services.AddAkka(akka.SystemName, builder => builder
            .WithMmCluster(akka)
            .WithActors((system, registry) =>
            {
                var agent = system.ActorOf(WorkerAgentActor.Props(options.Agent, session), "worker-agent");
                registry.Register<WorkerAgentActor>(agent);
                CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "leave-run", () =>
                    agent.Ask<Done>(new LeaveRun($"worker {options.Agent.WorkerId} was stopped (Ctrl-C, SIGTERM or shutdown)"), TimeSpan.FromSeconds(3)));
            }));
        return services;
    }

    /// <summary>Passes the session's calls through and completes <see cref="Ended"/> when the run ends.</summary>
    private sealed class EndingSession(ITrainingSession inner) : ITrainingSession
    {
        private readonly TaskCompletionSource<RunEnded> ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<RunEnded> Ended => ended.Task;

        public void OnGenerationStarted(GenerationInfo generation, IControlPlane control) => inner.OnGenerationStarted(generation, control);

        public void OnGenerationAborted(long generation, string reason) => inner.OnGenerationAborted(generation, reason);

        public void OnGenerationDrain(long generation, long afterStep, string reason) => inner.OnGenerationDrain(generation, afterStep, reason);

        public void OnRunEnded(RunEnded runEnded)
        {
            inner.OnRunEnded(runEnded);
            ended.TrySetResult(runEnded);
        }
    }
}
