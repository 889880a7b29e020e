using MmCluster.Shared.Manifest;

namespace MmCluster.Coordinator.Ledger;

/// <summary>What <see cref="ShardLedger.Lease"/> decided for a worker asking for work.</summary>
public abstract record LeaseResult
{
    private LeaseResult() { }

    /// <summary>The shard is now leased to the asking worker.</summary>
    public sealed record Leased(ShardSpec Shard) : LeaseResult;

    /// <summary>Every remaining shard is leased to someone but not done: ask again later.</summary>
    public sealed record NoneAvailable : LeaseResult;

    /// <summary>Every shard of the epoch is done.</summary>
    public sealed record EpochComplete(long SamplesExpected) : LeaseResult;
}
