using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using MmCluster.Coordinator.Actors;
using MmCluster.Shared.Grpc.Journal;
using MmCluster.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// Reads a run journal before the coordinator's actors start (<c>mmcluster coordinator --resume</c>): a short-lived,
/// local actor system on the database finds the run's persistence id, recovers a <see cref="RunJournalActor"/> and
/// asks it for its <see cref="RunRecord"/>, then stops. The coordinator that starts next opens the same file.
/// </summary>
public static class RunJournalReader
{
    /// <summary>
    /// The record of the run journaled in <paramref name="databasePath"/>; null when the file does not exist or holds
    /// no run. Throws <see cref="InvalidDataException"/> naming the file when it is corrupt, foreign, holds several
    /// runs, or its journal cannot be recovered.
    /// </summary>
    public static async Task<RunRecord?> ReadAsync(string databasePath, CancellationToken cancellationToken = default)
    {
        if (!RunJournalDatabase.Exists(databasePath))
        {
            return null;
        }
        var full = Path.GetFullPath(databasePath);
        using var host = ClusterProcessHost.Build(services => services.AddAkka("mmcluster-journal-reader", builder => builder
            .ConfigureLoggers(loggers => loggers.LogLevel = Akka.Event.LogLevel.WarningLevel)
            .WithRunJournal(full)));
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var runId = await FindRunIdAsync(system, full).ConfigureAwait(false);
            if (runId is null)
            {
                return null;
            }
            var journal = system.ActorOf(RunJournalActor.Props(runId), "run-journal");
            var stopped = journal.WatchAsync(cancellationToken);
            var asked = journal.Ask<RunRecord>(GetRunRecord.Instance, cancellationToken);
            if (await Task.WhenAny(asked, stopped).ConfigureAwait(false) != asked)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new InvalidDataException($"{full}: the journal of run '{runId}' could not be recovered (the log above says why).");
            }
            return await asked.ConfigureAwait(false);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The read journal; its constructor asks the journal with a fixed 5 s timeout, which a loaded machine can miss.</summary>
    private static SqlReadJournal ReadJournal(ActorSystem system, string databasePath)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
            }
            catch (Exception e) when (attempt < 5 && (e is AskTimeoutException || e.InnerException is AskTimeoutException))
            {
                system.Log.Warning("{0}: the journal did not answer the read journal within its 5 s (attempt {1} of 5); trying again", databasePath, attempt);
            }
        }
    }

    private static async Task<string?> FindRunIdAsync(ActorSystem system, string databasePath)
    {
        var ids = await ReadJournal(system, databasePath)
            .CurrentPersistenceIds()
            .RunWith(Sink.Seq<string>(), system.Materializer())
            .ConfigureAwait(false);
        var runIds = ids.Select(RunJournalActor.RunIdOf).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        return runIds.Count switch
        {
            0 => null,
            1 => runIds[0],
            _ => throw new InvalidDataException(
                $"{databasePath} holds the journals of several runs ({string.Join(", ", runIds)}); a run directory has one."),
        };
    }
}
