using MmCluster.Collectives;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Model.Loss;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// <see cref="IBatchLayout"/> over a collective group and the stage's global batch B (<see cref="BatchSplit"/>). Rank and
/// world size are read from the group at every call, never kept: a recovery may change the members under the same group
/// object. Without B (null) every rank is taken to hold the same rows as this one (the split before elastic batches).
/// </summary>
public sealed class GroupBatchLayout(ICollectiveGroup group, int? globalBatch = null) : IBatchLayout
{
    private readonly ICollectiveGroup group = group ?? throw new ArgumentNullException(nameof(group));

    public int Rank => group.Rank;

    public int WorldSize => group.WorldSize;

    /// <summary>The stage's global batch, or null when every rank holds as many rows as it is given.</summary>
    public int? GlobalBatch { get; } = globalBatch;

    /// <summary>Every rank's rows in rank order, checking that this rank holds its share (<paramref name="localRows"/>).</summary>
    public int[] RowsOfRanks(long localRows)
    {
        var (rank, world) = (group.Rank, group.WorldSize);
        if (GlobalBatch is not { } b)
        {
            return Enumerable.Repeat(checked((int)localRows), world).ToArray();
        }
        var rows = Enumerable.Range(0, world).Select(r => BatchSplit.Rows(b, world, r)).ToArray();
        if (rows[rank] != localRows)
        {
            throw new InvalidOperationException(
                $"rank {rank} holds {localRows} rows, but a global batch of {b} over {world} ranks gives it {rows[rank]} ({string.Join("/", rows)})");
        }
        return rows;
    }

    public long RowOffset(long localRows)
    {
        var rows = RowsOfRanks(localRows);
        return rows.Take(group.Rank).Sum(r => (long)r);
    }

    public double LossWeight(long localRows)
    {
        RowsOfRanks(localRows);
        return GlobalBatch is { } b ? BatchSplit.LossWeight(b, group.WorldSize, group.Rank) : 1.0;
    }
}
