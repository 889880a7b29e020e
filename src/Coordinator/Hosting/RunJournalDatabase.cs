using Microsoft.Data.Sqlite;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// Checks a run journal's SQLite file before Akka.Persistence opens it, so a corrupt or foreign file fails with its
/// name instead of a journal actor that never recovers, and no tables are added to another application's database.
/// </summary>
public static class RunJournalDatabase
{
    /// <summary>The tables Akka.Persistence.Sql creates (its default names); a database with others only is foreign.</summary>
    private static readonly string[] JournalTables = ["journal", "snapshot"];

    /// <summary>True when <paramref name="databasePath"/> exists and is not empty (a journal may be in it).</summary>
    public static bool Exists(string databasePath) => File.Exists(databasePath) && new FileInfo(databasePath).Length > 0;

    /// <summary>
    /// Passes for a missing or empty file, an SQLite database without tables, or one with the journal's tables;
    /// throws <see cref="InvalidDataException"/> naming the file otherwise.
    /// </summary>
    public static void Check(string databasePath)
    {
        if (!Exists(databasePath))
        {
            return;
        }
        var full = Path.GetFullPath(databasePath);
        List<string> tables;
        try
        {
            var connectionString = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            using (var check = connection.CreateCommand())
            {
                check.CommandText = "PRAGMA quick_check";
                var result = check.ExecuteScalar() as string;
                if (!string.Equals(result, "ok", StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"{full} is not a usable coordinator journal: SQLite's check says '{result}'.");
                }
            }
            using var list = connection.CreateCommand();
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
            using var reader = list.ExecuteReader();
            tables = [];
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }
        catch (SqliteException ex)
        {
            throw new InvalidDataException($"{full} is not a coordinator journal (an SQLite database): {ex.Message}", ex);
        }
        if (tables.Count > 0 && !JournalTables.Any(t => tables.Contains(t, StringComparer.OrdinalIgnoreCase)))
        {
            throw new InvalidDataException(
                $"{full} is not a coordinator journal: it holds the tables {string.Join(", ", tables)}, not Akka.Persistence's " +
                $"{string.Join(" and ", JournalTables)}. Move it away or pass another database.");
        }
    }
}
