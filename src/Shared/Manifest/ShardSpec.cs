namespace MmCluster.Shared.Manifest;

/// <summary>
/// A unit of work: a contiguous, row-group-aligned range of rows inside one Parquet file of the manifest.
/// Planned from footers only; leased by the coordinator to one worker at a time.
/// </summary>
/// <param name="ShardId">Index of the shard in its epoch plan (stable for a given manifest).</param>
/// <param name="File">Path of the Parquet file, relative to the manifest folder.</param>
/// <param name="FirstRowGroup">First row group of the range.</param>
/// <param name="RowGroupCount">Number of row groups in the range.</param>
/// <param name="FirstRow">Index of the first row inside the file.</param>
/// <param name="RowCount">Number of rows.</param>
public sealed record ShardSpec(int ShardId, string File, int FirstRowGroup, int RowGroupCount, long FirstRow, long RowCount)
{
    /// <summary>
    /// Rows at the shard's start already handled by an earlier lease (a shard continued after a recovery): reading
    /// starts at <c>FirstRow + SkipRows</c>. 0 for a shard read whole.
    /// </summary>
    public long SkipRows { get; init; }

    /// <summary>
    /// The file row after the last row to read (exclusive): a piece of a shard that the ledger split between ranks at an
    /// epoch's end (docs/fault-tolerance.md). 0 for a shard read to its end.
    /// </summary>
    public long EndRow { get; init; }

    /// <summary>The first file row to read: <c>FirstRow + SkipRows</c>.</summary>
    public long ReadStart => FirstRow + SkipRows;

    /// <summary>The file row after the last one to read: <see cref="EndRow"/>, or the shard's end.</summary>
    public long ReadEnd => EndRow > 0 ? EndRow : FirstRow + RowCount;

    /// <summary>Rows to read: <c>ReadEnd - ReadStart</c>.</summary>
    public long ReadRows => ReadEnd - ReadStart;
}
