using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.Persistence.Sql.Hosting;
using LinqToDB;
using Microsoft.Data.Sqlite;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// Akka.Persistence for the coordinator's run journal (<see cref="Actors.RunJournalActor"/>): Akka.Persistence.Sql's
/// journal and snapshot store on one SQLite file, tables created on first use. Only the coordinator calls this;
/// workers persist nothing.
/// </summary>
public static class RunJournalHosting
{
    /// <summary>The journal's file in a run directory.</summary>
    public const string DatabaseFileName = "coordinator.db";

    // Akka.Remote binds this serializer to IMessage; a system without remoting (the launcher's reader, specs) needs
    // the same binding, or the journal's protobuf events would be stored as JSON.
    private const string ProtobufBindingHocon = """
        akka.actor.serializers.proto = "Akka.Remote.Serialization.ProtobufSerializer, Akka.Remote"
        akka.actor.serialization-bindings { "Google.Protobuf.IMessage, Google.Protobuf" = proto }
        akka.actor.serialization-identifiers { "Akka.Remote.Serialization.ProtobufSerializer, Akka.Remote" = 2 }
        """;

    /// <summary><c>&lt;run directory&gt;/coordinator.db</c>.</summary>
    public static string DefaultDatabasePath(string runDirectory) => Path.Combine(runDirectory, DatabaseFileName);

    /// <summary>
    /// Makes the SQL journal and snapshot store on <paramref name="databasePath"/> this system's default persistence
    /// plugins. Refuses (<see cref="InvalidDataException"/> naming the file) a file that is not SQLite or is another
    /// application's database, before anything writes to it.
    /// </summary>
    public static AkkaConfigurationBuilder WithRunJournal(this AkkaConfigurationBuilder builder, string databasePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        RunJournalDatabase.Check(databasePath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        var connectionString = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(databasePath) }.ToString();
        return builder
            .WithSqlPersistence(connectionString, ProviderName.SQLiteMS, PersistenceMode.Both, autoInitialize: true)
            .AddHocon(ProtobufBindingHocon, HoconAddMode.Prepend);
    }
}
