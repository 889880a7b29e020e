namespace MmCluster.Shared.Manifest;

/// <summary>An epoch's work: every shard of the manifest once, in the order shuffled from (seed, epoch).</summary>
public sealed record EpochPlan(int Epoch, long Seed, IReadOnlyList<ShardSpec> Shards)
{
    public long TotalRows => Shards.Sum(s => s.RowCount);
}
