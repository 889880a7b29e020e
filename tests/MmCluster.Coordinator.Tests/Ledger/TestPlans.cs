using MmCluster.Shared.Manifest;

namespace MmCluster.Coordinator.Tests.Ledger;

/// <summary>Small epoch plans for the specs: <c>shards</c> shards of <c>rows</c> rows, one row group each.</summary>
internal static class TestPlans
{
    public static Func<int, EpochPlan> Uniform(int shards, long rows = 10) => epoch => new EpochPlan(epoch, 7,
        Enumerable.Range(0, shards).Select(i => new ShardSpec(i, $"part-{i % 3}.parquet", i / 3, 1, i / 3 * rows, rows)).ToList());
}
