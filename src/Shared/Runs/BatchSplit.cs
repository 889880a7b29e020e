namespace MmCluster.Shared.Runs;

/// <summary>
/// How a stage's fixed global batch of B rows is split over the W ranks of a generation: contiguous blocks in rank order,
/// the first B mod W ranks one row more (the rule of <c>MmCluster.Collectives.BlockPartition</c>, on rows). The world may
/// change during a stage (a rank lost, a rank back) while B stays, so every rank's share is a function of (B, W, rank)
/// only: each rank can compute every other rank's rows without asking. Pure.
/// </summary>
public static class BatchSplit
{
    /// <summary>Rows of rank <paramref name="rank"/>: floor(B / W), plus one for the first B mod W ranks.</summary>
    public static int Rows(int globalBatch, int worldSize, int rank)
    {
        Check(globalBatch, worldSize, rank);
        return globalBatch / worldSize + (rank < globalBatch % worldSize ? 1 : 0);
    }

    /// <summary>Where rank <paramref name="rank"/>'s rows start in the global batch (rank order).</summary>
    public static int Offset(int globalBatch, int worldSize, int rank)
    {
        Check(globalBatch, worldSize, rank);
        return rank * (globalBatch / worldSize) + Math.Min(rank, globalBatch % worldSize);
    }

    /// <summary>The largest rank's rows, ceil(B / W): the block every rank pads to for an equal-block collective.</summary>
    public static int MaxRows(int globalBatch, int worldSize) => Rows(globalBatch, worldSize, 0);

    /// <summary>True when W divides B: every rank has B / W rows.</summary>
    public static bool IsEven(int globalBatch, int worldSize)
    {
        Check(globalBatch, worldSize, 0);
        return globalBatch % worldSize == 0;
    }

    /// <summary>
    /// The factor w_r = b_r·W / B by which rank r scales a loss that is a mean over its own b_r rows, so that the mean over
    /// ranks of the weighted losses is the mean over all B rows (docs/exactness.md). Exactly 1 when W divides B.
    /// </summary>
    public static double LossWeight(int globalBatch, int worldSize, int rank)
    {
        var rows = Rows(globalBatch, worldSize, rank);
        return IsEven(globalBatch, worldSize) ? 1.0 : (double)rows * worldSize / globalBatch;
    }

    private static void Check(int globalBatch, int worldSize, int rank)
    {
        if (worldSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "a world has at least one rank");
        }
        if (rank < 0 || rank >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize})");
        }
        if (globalBatch < worldSize)
        {
            throw new ArgumentOutOfRangeException(
                nameof(globalBatch), globalBatch, $"a global batch of {globalBatch} rows cannot give each of {worldSize} ranks a row");
        }
    }
}
