namespace MmCluster.Shared.Manifest;

/// <summary>
/// What the footers of a manifest folder say: schema, files, row groups, rows, bytes. Built by
/// <see cref="ParquetManifestReader.InspectAsync"/> without reading any data page; memory is proportional to row groups.
/// </summary>
public sealed record ManifestSummary(
    string Folder,
    ManifestImageStorage Storage,
    IReadOnlyList<ManifestColumn> Columns,
    IReadOnlyList<ManifestFileSummary> Files)
{
    public int RowGroupCount => Files.Sum(f => f.RowGroups.Count);

    public long Rows => Files.Sum(f => f.Rows);

    /// <summary>Whether the files carry the optional <c>conversation</c> column (instruction data).</summary>
    public bool HasConversation => Columns.Any(c => c.Name == ManifestSchema.Conversation);

    /// <summary>Rows with a conversation, from the footers' null counts (0 without the column); null when a file with the column keeps no null counts.</summary>
    public long? ConversationRows => Files.Any(f => f.ConversationRows is null) ? null : Files.Sum(f => f.ConversationRows ?? 0);

    /// <summary>Whether the files carry a label column (<c>label</c>, or the column <c>manifest.columns.label</c> names).</summary>
    public bool HasLabel => Columns.Any(c => c.Name == Mapping[ManifestSchema.Label]);

    /// <summary>Rows with a label, from the footers' null counts (0 without the column); null when a file with the column keeps no null counts.</summary>
    public long? LabelRows => Files.Any(f => f.LabelRows is null) ? null : Files.Sum(f => f.LabelRows ?? 0);

    public long Bytes => Files.Sum(f => f.Bytes);

    /// <summary>The column mapping the footers were checked with (<see cref="ManifestColumnMapping.None"/>: the manifest's own names).</summary>
    public ManifestColumnMapping Mapping { get; init; } = ManifestColumnMapping.None;

    /// <summary>Rows per split, for files whose footer names one; files with mixed or unknown splits count under "".</summary>
    public IReadOnlyDictionary<string, long> RowsBySplit =>
        Files.GroupBy(f => f.Split ?? "").OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(f => f.Rows));
}
