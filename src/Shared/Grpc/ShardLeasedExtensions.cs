using MmCluster.Shared.Manifest;

namespace MmCluster.Shared.Grpc.Control;

/// <summary>The shard a <see cref="ShardLeased"/> hands out, as the reader and the lease tracker use it.</summary>
public static class ShardLeasedExtensions
{
    /// <summary>The lease's shard, with the rows an earlier lease handled (<c>skip_rows</c>) and a piece's end (<c>end_row</c>).</summary>
    public static ShardSpec ToShardSpec(this ShardLeased leased) =>
        new(leased.ShardId, leased.File, leased.FirstRowGroup, leased.RowGroupCount, leased.FirstRow, leased.RowCount)
        {
            SkipRows = leased.SkipRows,
            EndRow = leased.EndRow,
        };
}
