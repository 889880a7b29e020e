namespace MmCluster.Shared.Manifest;

/// <summary>How <see cref="ParquetManifestWriter"/> lays rows out: row group and file sizes, file names, columns.</summary>
public sealed record ParquetManifestWriterOptions
{
    /// <summary>Rows buffered before a row group is written (the planner's default shard size).</summary>
    public int RowsPerGroup { get; init; } = 10_000;

    /// <summary>Rows per file; a new file is started once a file holds this many.</summary>
    public long RowsPerFile { get; init; } = 100_000;

    /// <summary>File names are <c>{FilePrefix}-{index:D5}.parquet</c> (e.g. <c>train-00000.parquet</c>).</summary>
    public string FilePrefix { get; init; } = "part";

    /// <summary>
    /// When set, the writer writes exactly this one file (in the folder), with every row, and writes it even with no
    /// rows; <see cref="FilePrefix"/>, <see cref="FirstFileIndex"/> and <see cref="RowsPerFile"/> are not used.
    /// </summary>
    public string? FileName { get; init; }

    /// <summary>Index of the first file written (so several writers can fill one folder in parallel).</summary>
    public int FirstFileIndex { get; init; }

    public ManifestImageStorage Storage { get; init; } = ManifestImageStorage.Embedded;

    public bool HasLabel { get; init; }

    public bool HasSplit { get; init; }

    /// <summary>Write the <c>conversation</c> column (<see cref="ManifestRow.Conversation"/> as JSON; null when a row has none).</summary>
    public bool HasConversation { get; init; }

    internal void Validate()
    {
        if (RowsPerGroup <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RowsPerGroup), RowsPerGroup, "rows per row group must be positive");
        }
        if (RowsPerFile <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RowsPerFile), RowsPerFile, "rows per file must be positive");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(FirstFileIndex);
        if (FileName is not null && (FileName.Length == 0 || FileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0))
        {
            throw new ArgumentException($"file name '{FileName}' is not a valid file name", nameof(FileName));
        }
        if (string.IsNullOrWhiteSpace(FilePrefix) || FilePrefix.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            throw new ArgumentException($"file prefix '{FilePrefix}' is not a valid file name", nameof(FilePrefix));
        }
    }
}
