namespace MmCluster.Collectives;

/// <summary>How an all-reduce combines the ranks' buffers.</summary>
public enum ReduceOp
{
    Sum = 0,
    Mean = 1,
}
