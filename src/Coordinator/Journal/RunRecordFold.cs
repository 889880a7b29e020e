using Google.Protobuf;
using MmCluster.Shared.Grpc.Journal;

namespace MmCluster.Coordinator.Journal;

/// <summary>
/// How the run journal's events make a <see cref="RunRecord"/>: the one fold the <c>RunJournalActor</c> applies after
/// a write and during recovery, so both agree. Pure: no Akka, no I/O.
/// </summary>
public static class RunRecordFold
{
    /// <summary>The record of a run that has journaled nothing yet.</summary>
    public static RunRecord Empty(string runId) => new() { RunId = runId, StageIndex = -1 };

    /// <summary>Whether <paramref name="message"/> is one of the journal's events.</summary>
    public static bool IsEvent(IMessage message) => message is StageStarted or GenerationStarted or StepCommitted
        or StageFinished or RecoveryRecorded or RunEnded;

    /// <summary>Why <paramref name="event"/> cannot follow <paramref name="record"/>, or null when it can.</summary>
    public static string? Check(RunRecord record, IMessage @event) => @event switch
    {
        GenerationStarted g when g.Generation < record.Generation =>
            $"generation {g.Generation} is below the journal's generation {record.Generation}",
        StageStarted s when s.Generation < record.Generation =>
            $"stage {s.StageIndex} starts in generation {s.Generation}, below the journal's generation {record.Generation}",
        StepCommitted c when c.Ledger is null => $"the commit of step {c.Step} (stage {c.StageIndex}) carries no ledger",
        StepCommitted c when record.LastCommits.TryGetValue(c.StageIndex, out var last) && c.Step < last.Step =>
            $"stage {c.StageIndex} already committed step {last.Step}, after step {c.Step}",
        _ when !IsEvent(@event) => $"{@event.Descriptor.Name} is not a run journal event",
        _ => null,
    };

    /// <summary>Applies one event to the record in place.</summary>
    public static void Apply(RunRecord record, IMessage @event)
    {
        switch (@event)
        {
            case StageStarted s:
                record.StageIndex = s.StageIndex;
                record.StageName = s.StageName;
                record.Generation = Math.Max(record.Generation, s.Generation);
                record.Ended = null;
                break;
            case GenerationStarted g:
                record.Generation = Math.Max(record.Generation, g.Generation);
                record.WorldSize = g.WorldSize;
                record.Members.Clear();
                record.Members.AddRange(g.Members.OrderBy(m => m.Rank).Select(m => m.Clone()));
                break;
            case StepCommitted c:
                record.LastCommits[c.StageIndex] = c.Clone();
                break;
            case StageFinished f:
                if (!record.FinishedStages.Contains(f.StageIndex))
                {
                    record.FinishedStages.Add(f.StageIndex);
                }
                break;
            case RecoveryRecorded r:
                record.Recoveries.Add(r.Clone());
                record.Generation = Math.Max(record.Generation, r.GenerationAfter);
                break;
            case RunEnded e:
                record.Ended = e.Clone();
                break;
            default:
                throw new ArgumentException($"{@event.Descriptor.Name} is not a run journal event", nameof(@event));
        }
    }
}
