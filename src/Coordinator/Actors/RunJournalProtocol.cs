using Google.Protobuf;

namespace MmCluster.Coordinator.Actors;

/// <summary>Query for the run journal's state; the <c>RunJournalActor</c> answers with a copy of its <c>RunRecord</c>.</summary>
public sealed class GetRunRecord
{
    public static readonly GetRunRecord Instance = new();

    private GetRunRecord() { }
}

/// <summary>
/// The <c>RunJournalActor</c>'s answer to a journal event (<c>StageStarted</c>, <c>StepCommitted</c>, ...) once it is
/// durable in the database: a RunActor that waits for it before telling the workers knows a restart will see it.
/// </summary>
public sealed record RunEventRecorded(long SequenceNr, IMessage Event);

/// <summary>
/// The <c>RunJournalActor</c>'s answer to an event that cannot follow the journal (a generation below the journal's,
/// a commit without its ledger, a message that is no journal event); nothing was written.
/// </summary>
public sealed record RunEventRejected(IMessage Event, string Reason);
