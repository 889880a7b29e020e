using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Coordinator.Ledger;

/// <summary>
/// What a recovery did to the ledger: the ledger committed at the recovery step, the leases handed back to pending,
/// the rows of completions by discarded steps that were rewound, and the earliest epoch that still has rows.
/// </summary>
public sealed record RecoveryResult(LedgerSnapshot Snapshot, int LeasesReturned, long RowsRewound, int FirstOpenEpoch);
