namespace MmCluster.Collectives;

/// <summary>
/// Splits n elements into W contiguous blocks, the first n mod W blocks one element longer. Reduce-scatter
/// leaves block r on rank r; ring all-reduce uses the same split. Pure, shared by every implementation.
/// </summary>
public static class BlockPartition
{
    public static int Offset(int n, int world, int block)
    {
        var size = n / world;
        var extra = n % world;
        return block * size + Math.Min(block, extra);
    }

    public static int Count(int n, int world, int block)
    {
        return n / world + (block < n % world ? 1 : 0);
    }
}
