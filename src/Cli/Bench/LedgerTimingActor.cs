using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using MmCluster.Coordinator.Actors;

namespace MmCluster.Cli.Bench;

/// <summary>
/// Sits between the RunActor and the real ShardLedgerActor in <c>bench coordinator --failures N</c> and forwards every
/// message unchanged (the sender stays the worker's or the RunActor's), except that it times each
/// <see cref="RecoverLedger"/> until its <see cref="LedgerRecovered"/>: the ledger's share of a recovery, its queue included.
/// </summary>
internal sealed class LedgerTimingActor : ReceiveActor
{
    private readonly IActorRef ledger;
    private readonly ConcurrentQueue<double> recoverMs;
    private IActorRef? recoverer;
    private long askedAt;

    public LedgerTimingActor(IActorRef ledger, ConcurrentQueue<double> recoverMs)
    {
        this.ledger = ledger;
        this.recoverMs = recoverMs;
        Receive<RecoverLedger>(HandleRecover);
        Receive<LedgerRecovered>(HandleRecovered);
        ReceiveAny(message => ledger.Forward(message));
    }

    public static Props Props(IActorRef ledger, ConcurrentQueue<double> recoverMs) =>
        Akka.Actor.Props.Create(() => new LedgerTimingActor(ledger, recoverMs));

    private void HandleRecover(RecoverLedger recover)
    {
        recoverer = Sender;
        askedAt = Stopwatch.GetTimestamp();
        ledger.Tell(recover, Self);
    }

    private void HandleRecovered(LedgerRecovered recovered)
    {
        recoverMs.Enqueue(Stopwatch.GetElapsedTime(askedAt).TotalMilliseconds);
        recoverer?.Tell(recovered, Self);
    }
}
