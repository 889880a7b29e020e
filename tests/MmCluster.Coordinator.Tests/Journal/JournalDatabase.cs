using Akka.Actor;
using Akka.Hosting;
using MmCluster.Coordinator.Hosting;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MmCluster.Coordinator.Tests.Journal;

/// <summary>A run journal's SQLite file in a temp directory, and actor systems (hosts) that open it one after another.</summary>
public sealed class JournalDatabase : IDisposable
{
    /// <summary>A bound on waiting for SQLite on a shared machine, never a timing under test.</summary>
    public static readonly TimeSpan Durable = TimeSpan.FromSeconds(30);

    public JournalDatabase()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mmcluster-journal-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Path = RunJournalHosting.DefaultDatabasePath(Directory);
    }

    public string Directory { get; }

    public string Path { get; }

    /// <summary>Starts a local actor system with the journal on <see cref="Path"/>; stop it with <see cref="StopAsync"/>.</summary>
    public async Task<(IHost Host, ActorSystem System)> StartAsync()
    {
        var host = ClusterProcessHost.Build(services => services.AddAkka("journal-spec", builder => builder
            .ConfigureLoggers(loggers => loggers.LogLevel = Akka.Event.LogLevel.WarningLevel)
            .WithRunJournal(Path)));
        await host.StartAsync();
        return (host, host.Services.GetRequiredService<ActorSystem>());
    }

    public static async Task StopAsync(IHost host)
    {
        await host.StopAsync();
        host.Dispose();
    }

    /// <summary>A ledger with several epochs, shards and skip reasons, so a bit-equal comparison means something.</summary>
    public static LedgerSnapshot Ledger(long step)
    {
        var ledger = new LedgerSnapshot { Step = step };
        for (var epoch = 0; epoch < 2; epoch++)
        {
            var e = new EpochLedger { Epoch = epoch, ShardCount = 5, SamplesExpected = 5_000 + epoch, Duplicates = epoch * 3 };
            for (var shard = 0; shard < 3; shard++)
            {
                var committed = new CommittedShard { ShardId = shard, RowsConsumed = 1_000 - shard - step };
                committed.SkippedByReason["decode_failed"] = shard + 1;
                committed.SkippedByReason["too_long"] = step % 7;
                e.Committed.Add(committed);
            }
            ledger.Epochs.Add(e);
        }
        return ledger;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
