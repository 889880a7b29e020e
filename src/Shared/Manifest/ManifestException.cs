namespace MmCluster.Shared.Manifest;

/// <summary>
/// A manifest that cannot be read: not Parquet, truncated, missing or mistyped columns, an empty folder.
/// The message always names the file, and the row group or row where it applies, so a user can find the bad input.
/// </summary>
public sealed class ManifestException : Exception
{
    public ManifestException(string message, string? file = null, int? rowGroup = null, long? row = null, Exception? inner = null)
        : base(Compose(message, file, rowGroup, row), inner)
    {
        File = file;
        RowGroup = rowGroup;
        Row = row;
    }

    /// <summary>The file at fault (as given, usually a full path), or null for folder-level errors.</summary>
    public string? File { get; }

    public int? RowGroup { get; }

    public long? Row { get; }

    private static string Compose(string message, string? file, int? rowGroup, long? row)
    {
        var where = file is null ? "" : $"{file}";
        if (rowGroup is not null)
        {
            where += $", row group {rowGroup}";
        }
        if (row is not null)
        {
            where += $", row {row}";
        }
        return where.Length == 0 ? message : $"{where}: {message}";
    }
}
