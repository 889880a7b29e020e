namespace MmCluster.Shared.Manifest;

/// <summary>How the manifest is cut into shards.</summary>
public sealed record ShardPlanOptions
{
    /// <summary>
    /// Target rows per shard: consecutive row groups of one file are merged while the shard stays within it. 0 (default)
    /// means one row group per shard. A row group larger than the target is a shard of its own (shards are row-group aligned).
    /// </summary>
    public long TargetRowsPerShard { get; init; }

    /// <summary>
    /// Keep only files whose footer names this split. Files of unknown or mixed split are kept (the reader filters their rows).
    /// </summary>
    public string? Split { get; init; }
}
