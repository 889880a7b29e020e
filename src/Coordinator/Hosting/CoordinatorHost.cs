using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using MmCluster.Coordinator.Actors;
using MmCluster.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// The coordinator process: the cluster's seed node hosting the RunActor (<c>/user/run</c>) and the ShardLedgerActor
/// (<c>/user/shard-ledger</c>), and with <see cref="CoordinatorOptions.JournalDatabase"/> the RunJournalActor
/// (<c>/user/run-journal</c>). <see cref="RunAsync"/> returns when the run finished or failed, or on Ctrl-C/SIGTERM
/// (then the workers get RunFailed and the coordinator leaves the cluster gracefully).
/// </summary>
public static class CoordinatorHost
{
    private const string StoppedReason = "the coordinator was stopped (Ctrl-C, SIGTERM or shutdown)";

    /// <summary>Runs one run to its end. The outcome's <see cref="RunOutcome.ExitCode"/> is what the process should exit with.</summary>
    public static async Task<RunOutcome> RunAsync(CoordinatorOptions options, CancellationToken cancellationToken = default)
    {
        using var host = ClusterProcessHost.Build(services => services.AddMmCoordinator(options));
        var run = host.Services.GetRequiredService<CoordinatorRun>();
        return await ClusterProcessHost.RunUntilAsync(host, StayForLateJoinersAsync(run.Outcome, cancellationToken),
            () => AbortAsync(run, StoppedReason, options.AbortGrace),
            outcome =>
            {
                if (!outcome.Succeeded)
                {
                    Console.Error.WriteLine($"mmcluster coordinator: {outcome.Message}");
                }
                options.OnOutcome?.Invoke(outcome);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds the coordinator's actor system and <see cref="CoordinatorRun"/> to a host (the dashboard's web host can
    /// call this to serve gRPC beside the actors).
    /// </summary>
    public static IServiceCollection AddMmCoordinator(this IServiceCollection services, CoordinatorOptions options)
    {
        var run = new CoordinatorRun();
        services.AddSingleton(run);
        var akka = options.Akka;
        if (!akka.Roles.Contains(ClusterRoles.Coordinator))
        {
            akka.Roles.Add(ClusterRoles.Coordinator);
        }
        services.AddAkka(akka.SystemName, builder => builder
            .WithMmCluster(akka)
            .WithRunJournalIfAny(options.JournalDatabase)
            .WithActors((system, registry) =>
            {
                IActorRef? journal = null;
                if (options.JournalDatabase is not null)
                {
                    // The RunActor records stages, generations, commits and recoveries in it.
                    journal = system.ActorOf(RunJournalActor.Props(options.Run.RunId, options.JournalSnapshotEvery), "run-journal");
                    registry.Register<RunJournalActor>(journal);
                }
                var plan = options.PlanStageEpoch ?? ((_, epoch) => options.PlanEpoch(epoch));
                var ledger = system.ActorOf(ShardLedgerActor.Props(plan, options.ResumeLedger, options.Run.StartAt), "shard-ledger");
                var runActor = system.ActorOf(RunActor.Props(options.Run, ledger, run.SetOutcome, journal), "run");
                registry.Register<ShardLedgerActor>(ledger);
                registry.Register<RunActor>(runActor);
                run.SetRunActor(runActor);
                options.RunActorStarted?.Invoke(system, runActor);
                // Whatever starts the shutdown (Ctrl-C, SIGTERM, the host stopping), the workers hear why before the
                // coordinator leaves the cluster: remoting keeps RunFailed ahead of the leave on each connection.
                CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "abort-run", async () =>
                {
                    await runActor.Ask<RunStatus>(new AbortRun(StoppedReason), options.AbortGrace).ConfigureAwait(false);
                    return Done.Instance;
                });
            })
            .AddStartup((system, _) =>
            {
                var cluster = Cluster.Get(system);
                if (akka.SeedNodes.Count == 0)
                {
                    cluster.Join(cluster.SelfAddress);
                }
                options.Listening?.Invoke(cluster.SelfAddress.ToString());
            }));
        return services;
    }

    private static AkkaConfigurationBuilder WithRunJournalIfAny(this AkkaConfigurationBuilder builder, string? databasePath) =>
        databasePath is null ? builder : builder.WithRunJournal(databasePath);

    /// <summary>
    /// The outcome, once the coordinator has stayed <see cref="RunOutcome.LateJoinerWait"/> in the cluster after it, so a
    /// lost worker's late replacement hears that the run finished instead of waiting for a coordinator that is gone.
    /// </summary>
    private static async Task<RunOutcome> StayForLateJoinersAsync(Task<RunOutcome> outcome, CancellationToken cancellationToken)
    {
        var result = await outcome.ConfigureAwait(false);
        if (result.LateJoinerWait > TimeSpan.Zero)
        {
            Console.WriteLine($"coordinator: {result.Message}; staying {result.LateJoinerWait.TotalSeconds:0.#} s so that a replacement " +
                "of a lost worker that starts late hears the run finished (recovery.replacement_wait)");
            try
            {
                await Task.Delay(result.LateJoinerWait, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        return result;
    }

    private static async Task<RunOutcome> AbortAsync(CoordinatorRun run, string reason, TimeSpan grace)
    {
        var actor = await run.RunActor.ConfigureAwait(false);
        await actor.Ask<RunStatus>(new AbortRun(reason), grace).ConfigureAwait(false);
        return await run.Outcome.WaitAsync(grace).ConfigureAwait(false);
    }
}
