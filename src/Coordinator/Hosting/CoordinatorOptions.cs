using MmCluster.Coordinator.Actors;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Hosting;
using MmCluster.Shared.Manifest;

namespace MmCluster.Coordinator.Hosting;

/// <summary>Everything the coordinator process needs to drive one run.</summary>
public sealed record CoordinatorOptions
{
    /// <summary>This member's place in the cluster; the coordinator role is added. No seed nodes: it founds the cluster.</summary>
    public required AkkaSettings Akka { get; init; }

    /// <summary>Run id, world size, stage config sent to the workers, rendezvous timeout.</summary>
    public required RunSettings Run { get; init; }

    /// <summary>Plans an epoch (the ShardPlanner over the manifest's footers); called once per epoch, lazily.</summary>
    public required Func<int, EpochPlan> PlanEpoch { get; init; }

    /// <summary>Plans epoch e of stage k, (k, e) => plan, for a schedule whose stages plan differently; null: <see cref="PlanEpoch"/> for every stage.</summary>
    public Func<int, int, EpochPlan>? PlanStageEpoch { get; init; }

    /// <summary>The ledger stored in the checkpoint to resume from (of stage <see cref="RunSettings.StartAt"/>); null for a fresh run.</summary>
    public LedgerSnapshot? ResumeLedger { get; init; }

    /// <summary>
    /// The run journal's SQLite file (the launcher's is <c>&lt;run directory&gt;/coordinator.db</c>,
    /// <see cref="RunJournalHosting.DefaultDatabasePath"/>): the coordinator starts a <see cref="RunJournalActor"/>
    /// (<c>/user/run-journal</c>, in the ActorRegistry) for <see cref="RunSettings.RunId"/> on it. Null: no journal.
    /// </summary>
    public string? JournalDatabase { get; init; }

    /// <summary>Journal events between two snapshots of the run's record.</summary>
    public int JournalSnapshotEvery { get; init; } = RunJournalActor.DefaultSnapshotEvery;

    /// <summary>Called once the cluster is up, with the coordinator's Akka address (the seed node for workers).</summary>
    public Action<string>? Listening { get; init; }

    /// <summary>Called once the RunActor exists, to start actors beside it (the dashboard's progress feed).</summary>
    public Action<Akka.Actor.ActorSystem, Akka.Actor.IActorRef>? RunActorStarted { get; init; }

    /// <summary>Called as soon as the run ended, before the coordinator leaves the cluster (summary.json, exit message).</summary>
    public Action<RunOutcome>? OnOutcome { get; init; }

    /// <summary>How long a stop request (Ctrl-C) waits for the RunActor to tell the workers before leaving.</summary>
    public TimeSpan AbortGrace { get; init; } = TimeSpan.FromSeconds(3);
}
