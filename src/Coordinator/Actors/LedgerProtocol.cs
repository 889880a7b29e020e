using Akka.Actor;
using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Coordinator.Actors;

/// <summary>Sent by the RunActor (or a dashboard) to receive <c>LedgerStats</c> after every change of the ledger.</summary>
public sealed record SubscribeLedgerStats(IActorRef Subscriber);

/// <summary>Sent by the RunActor once every rank voted for a checkpoint step; answered by <see cref="LedgerCommitted"/>.</summary>
public sealed record CommitLedger(long Step);

/// <summary>The ledger as of a committed step, for the checkpoint of that step.</summary>
public sealed record LedgerCommitted(long Step, LedgerSnapshot Snapshot);

/// <summary>Query for the ledger's counts; answered by <c>LedgerStats</c>.</summary>
public sealed class GetLedgerStats
{
    public static readonly GetLedgerStats Instance = new();

    private GetLedgerStats() { }
}

/// <summary>Published to subscribers when the ledger cannot go on (an epoch cannot be planned, a bad report).</summary>
public sealed record LedgerFault(string Reason);

/// <summary>
/// Sent by the RunActor when the schedule moves to stage <paramref name="Stage"/> (every worker finished the previous one):
/// the ledger starts a fresh ledger planned for that stage; the previous stage's leases are forgotten.
/// </summary>
public sealed record BeginStageLedger(int Stage);

/// <summary>
/// Sent by the RunActor when a recovery keeps every step up to <paramref name="Step"/>: every lease goes back, continued
/// from its kept rows, and the kept rows are committed. Answered by <see cref="LedgerRecovered"/>.
/// </summary>
public sealed record RecoverLedger(long Step);

/// <summary>
/// Sent by the RunActor before it starts a generation: its workers and each one's rows per step, from which the ledger
/// gives every worker its share of each epoch's remaining rows (<c>ShardLedger.BeginGeneration</c>).
/// </summary>
public sealed record BeginLedgerGeneration(long Generation, IReadOnlyDictionary<string, int> RowsPerStep);

/// <summary>The ledger after a recovery at <paramref name="Step"/>.</summary>
public sealed record LedgerRecovered(long Step, MmCluster.Coordinator.Ledger.RecoveryResult Result);
