using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Google.Protobuf;
using MmCluster.Coordinator.Journal;
using MmCluster.Shared.Grpc.Journal;

namespace MmCluster.Coordinator.Actors;

/// <summary>
/// The coordinator's memory across its own death: persists the run's journal events (protos/journal.proto:
/// <c>StageStarted</c>, <c>GenerationStarted</c>, <c>StepCommitted</c>, <c>StageFinished</c>, <c>RecoveryRecorded</c>,
/// <c>RunEnded</c>) with Akka.Persistence to the SQL journal (SQLite, <see cref="Hosting.RunJournalHosting"/>) and
/// recovers them into a <see cref="RunRecord"/>. The RunActor tells it each event and gets
/// <see cref="RunEventRecorded"/> once it is durable (or <see cref="RunEventRejected"/>); <see cref="GetRunRecord"/>
/// returns the record. Every <c>snapshotEvery</c> events it saves the record as a snapshot and deletes what the
/// snapshot covers, so recovery reads one snapshot and fewer than <c>snapshotEvery</c> events however long the run.
/// </summary>
public sealed class RunJournalActor : ReceivePersistentActor
{
    /// <summary>Events between two snapshots unless the caller says otherwise.</summary>
    public const int DefaultSnapshotEvery = 50;

    /// <summary>A run's persistence id is this prefix and its run id.</summary>
    public const string PersistenceIdPrefix = "run-";

    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly int snapshotEvery;
    private RunRecord record;

    public RunJournalActor(string runId, int snapshotEvery)
    {
        ArgumentException.ThrowIfNullOrEmpty(runId);
        ArgumentOutOfRangeException.ThrowIfLessThan(snapshotEvery, 1);
        PersistenceId = PersistenceIdFor(runId);
        this.snapshotEvery = snapshotEvery;
        record = RunRecordFold.Empty(runId);
        Recover<SnapshotOffer>(RecoverSnapshot);
        Recover<IMessage>(RecoverEvent);
        Command<GetRunRecord>(HandleGetRunRecord);
        Command<IMessage>(HandleEvent);
        Command<SaveSnapshotSuccess>(HandleSnapshotSaved);
        Command<SaveSnapshotFailure>(HandleSnapshotFailed);
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteMessagesFailure>(HandleDeleteMessagesFailed);
        Command<DeleteSnapshotsFailure>(HandleDeleteSnapshotsFailed);
    }

    public override string PersistenceId { get; }

    /// <summary>The persistence id of run <paramref name="runId"/>'s journal.</summary>
    public static string PersistenceIdFor(string runId) => PersistenceIdPrefix + runId;

    /// <summary>The run id of a journal's persistence id, or null when it is no run journal's.</summary>
    public static string? RunIdOf(string persistenceId) =>
        persistenceId.StartsWith(PersistenceIdPrefix, StringComparison.Ordinal) && persistenceId.Length > PersistenceIdPrefix.Length
            ? persistenceId[PersistenceIdPrefix.Length..]
            : null;

    public static Props Props(string runId, int snapshotEvery = DefaultSnapshotEvery) =>
        Akka.Actor.Props.Create(() => new RunJournalActor(runId, snapshotEvery));

    private void RecoverSnapshot(SnapshotOffer offer) => record = ((RunRecord)offer.Snapshot).Clone();

    private void RecoverEvent(IMessage @event) => RunRecordFold.Apply(record, @event);

    private void HandleGetRunRecord(GetRunRecord _) => Sender.Tell(record.Clone());

    private void HandleEvent(IMessage @event)
    {
        var reason = RunRecordFold.Check(record, @event);
        if (reason is not null)
        {
            log.Warning("run journal {0}: rejected {1}: {2}", PersistenceId, @event.Descriptor.Name, reason);
            Sender.Tell(new RunEventRejected(@event, reason));
            return;
        }
        Persist(@event, persisted =>
        {
            RunRecordFold.Apply(record, persisted);
            Sender.Tell(new RunEventRecorded(LastSequenceNr, persisted));
            if (LastSequenceNr % snapshotEvery == 0)
            {
                SaveSnapshot(record.Clone());
            }
        });
    }

    private void HandleSnapshotSaved(SaveSnapshotSuccess saved)
    {
        var upTo = saved.Metadata.SequenceNr;
        // The snapshot's own last event stays: a journal with no event left would no longer list this persistence
        // id (the launcher finds the run through it). Recovery replays only what follows the snapshot.
        DeleteMessages(upTo - 1);
        DeleteSnapshots(new SnapshotSelectionCriteria(upTo - 1));
    }

    private void HandleSnapshotFailed(SaveSnapshotFailure failed) =>
        log.Warning(failed.Cause, "run journal {0}: snapshot at event {1} failed; recovery replays more events",
            PersistenceId, failed.Metadata.SequenceNr);

    private void HandleDeleteMessagesFailed(DeleteMessagesFailure failed) =>
        log.Warning(failed.Cause, "run journal {0}: deleting events up to {1} failed", PersistenceId, failed.ToSequenceNr);

    private void HandleDeleteSnapshotsFailed(DeleteSnapshotsFailure failed) =>
        log.Warning(failed.Cause, "run journal {0}: deleting old snapshots failed", PersistenceId);

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Sender.Tell(new Status.Failure(cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Sender.Tell(new Status.Failure(cause));
        base.OnPersistRejected(cause, @event, sequenceNr);
    }
}
