namespace MmCluster.Coordinator.Ledger;

/// <summary>What <see cref="ShardLedger.Complete"/> made of a completion report.</summary>
public enum CompletionResult
{
    /// <summary>First completion of the shard: it is now done-uncommitted.</summary>
    Accepted,

    /// <summary>The shard was already done: its rows count as duplicates.</summary>
    Duplicate,

    /// <summary>No such shard in a planned epoch: the report is ignored.</summary>
    UnknownShard,
}
