namespace MmCluster.Shared.Manifest;

/// <summary>
/// One Parquet file of a manifest, from its footer only: the planner's input (row groups and their row counts).
/// </summary>
/// <param name="File">Path relative to the manifest folder, with '/' separators.</param>
/// <param name="Bytes">File size on disk.</param>
/// <param name="Split">The split every row of the file belongs to, when the footer says so; null when unknown or mixed.</param>
/// <param name="RowGroups">The file's row groups, in file order.</param>
public sealed record ManifestFileSummary(string File, long Bytes, string? Split, IReadOnlyList<RowGroupSummary> RowGroups)
{
    /// <summary>
    /// Rows whose <c>conversation</c> is not null, from the footer's column statistics (null counts): 0 when the file
    /// has no <c>conversation</c> column, null when its footer keeps no null counts.
    /// </summary>
    public long? ConversationRows { get; init; }

    /// <summary>
    /// Rows whose <c>label</c> (or the column <c>manifest.columns.label</c> maps it to) is not null, from the footer's
    /// null counts: 0 when the file has no label column, null when its footer keeps no null counts.
    /// </summary>
    public long? LabelRows { get; init; }

    public long Rows
    {
        get
        {
            var rows = 0L;
            foreach (var group in RowGroups)
            {
                rows += group.Rows;
            }
            return rows;
        }
    }
}
