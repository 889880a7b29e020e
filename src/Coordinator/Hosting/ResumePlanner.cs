using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Grpc.Journal;
using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// Decides where a resumed run continues. <b>The journal wins</b>: when the run directory's <c>coordinator.db</c>
/// holds a run that started a stage, its record (stage, last commit with its ledger, generation) is the truth, even if
/// the checkpoint directories hold a later committed checkpoint (one whose commit the coordinator never made durable).
/// Without a journal (or one that never started a stage) the ledger sidecars are scanned as before
/// (<see cref="StageSchedule.ResumePoint"/>): they stay beside every checkpoint so a human or another tool can resume too.
/// </summary>
public static class ResumePlanner
{
    /// <summary>The resume point from <paramref name="journal"/> when it has one, else from the checkpoints' sidecars.</summary>
    public static async Task<ResumePoint> PlanAsync(IReadOnlyList<StageConfig> configs, RunRecord? journal, CancellationToken cancellationToken = default) =>
        journal is { StageIndex: >= 0 }
            ? FromJournal(configs, journal)
            : await FromSidecarsAsync(configs, (journal?.Generation ?? 0) + 1, cancellationToken).ConfigureAwait(false);

    private static ResumePoint FromJournal(IReadOnlyList<StageConfig> configs, RunRecord journal)
    {
        var source = $"journal of run {journal.RunId}";
        if (journal.Ended is { Succeeded: true })
        {
            throw new InvalidOperationException($"--resume: the {source} says the run finished; nothing to resume");
        }
        if (journal.StageIndex >= configs.Count || (journal.StageName.Length > 0 && configs[journal.StageIndex].Stage != journal.StageName))
        {
            throw new InvalidOperationException(
                $"--resume: the {source} is in stage {journal.StageIndex} '{journal.StageName}', which the spec's schedule " +
                $"({string.Join(", ", configs.Select(c => c.Stage))}) does not have there; the spec changed since the run started");
        }
        var generation = journal.Generation + 1;
        var startAt = journal.StageIndex;
        while (startAt < configs.Count && IsDone(configs[startAt], journal))
        {
            startAt++;
        }
        if (startAt == configs.Count)
        {
            throw new InvalidOperationException($"--resume: the {source} says every stage finished; nothing to resume");
        }
        if (!journal.LastCommits.TryGetValue(startAt, out var commit))
        {
            return new ResumePoint(startAt, configs, null, generation, $"{source} (stage '{configs[startAt].Stage}' has no commit: fresh)");
        }
        if (!File.Exists(commit.CheckpointPath))
        {
            throw new InvalidOperationException(
                $"--resume: the {source} committed step {commit.Step} of stage '{configs[startAt].Stage}' at {commit.CheckpointPath}, which does not exist");
        }
        return new ResumePoint(startAt, WithResumeFrom(configs, startAt, commit.CheckpointPath), commit.Ledger.Clone(), generation,
            $"{source} (step {commit.Step}, generation {journal.Generation})");
    }

    private static bool IsDone(StageConfig config, RunRecord journal) =>
        journal.FinishedStages.Contains(config.StageIndex)
        || (journal.LastCommits.TryGetValue(config.StageIndex, out var commit) && commit.Step >= config.TotalSteps);

    private static async Task<ResumePoint> FromSidecarsAsync(IReadOnlyList<StageConfig> configs, long generation, CancellationToken cancellationToken)
    {
        var (startAt, checkpoint) = StageSchedule.ResumePoint(configs);
        if (checkpoint is null)
        {
            return new ResumePoint(startAt, configs, null, generation, "checkpoints (every earlier stage is done: fresh)");
        }
        var ledger = LedgerSnapshot.Parser.ParseFrom(await File.ReadAllBytesAsync(LedgerSidecar.PathFor(checkpoint), cancellationToken).ConfigureAwait(false));
        return new ResumePoint(startAt, WithResumeFrom(configs, startAt, checkpoint), ledger, generation, $"checkpoint sidecar (step {ledger.Step})");
    }

    private static IReadOnlyList<StageConfig> WithResumeFrom(IReadOnlyList<StageConfig> configs, int stage, string checkpoint) =>
        configs.Select((c, k) => k == stage ? c with { ResumeFrom = checkpoint } : c).ToList();
}
