using System.Text.Json;
using MmCluster.Shared.Spec;

namespace MmCluster.Shared.Runs;

/// <summary>
/// What a finished run leaves in <c>summary.json</c>: status, world size, every stage with its steps, samples, losses and
/// evaluation, the run's headline evaluation (one stage's, named by <c>eval_stage</c>), the ledger per stage and epoch,
/// and the wall time. Built from the final <see cref="RunSnapshot"/>; snake_case JSON.
/// </summary>
public sealed record RunSummary
{
    public required string Status { get; init; }

    public string RunId { get; init; } = "";

    public string RunName { get; init; } = "";

    public int WorldSize { get; init; }

    public IReadOnlyList<StageSummary> Stages { get; init; } = [];

    /// <summary>
    /// The headline evaluation: the last evaluation of the last stage in schedule order that evaluated (for a one-stage
    /// run, that stage's), never metrics of different stages side by side; empty when no stage evaluated. Every stage's
    /// own is in <see cref="Stages"/>.
    /// </summary>
    public IReadOnlyDictionary<string, double> Eval { get; init; } = new Dictionary<string, double>();

    /// <summary>The stage <see cref="Eval"/> comes from; null when no stage evaluated.</summary>
    public string? EvalStage { get; init; }

    public IReadOnlyList<LedgerCounters> Ledger { get; init; } = [];

    /// <summary>Every recovery of the run (docs/fault-tolerance.md), oldest first.</summary>
    public IReadOnlyList<RecoverySummary> Recoveries { get; init; } = [];

    public double WallS { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset FinishedAt { get; init; }

    public string? Error { get; init; }

    /// <summary>
    /// The uids of the Kubernetes Jobs whose pods worked in this run (empty outside Kubernetes): a lost worker's
    /// replacement that starts after the coordinator left finds its own Job here and knows its run finished.
    /// </summary>
    public IReadOnlyList<string> WorkerJobs { get; init; } = [];

    public static RunSummary From(RunSnapshot snapshot)
    {
        var evaluated = snapshot.Stages.LastOrDefault(s => s.Eval.Count > 0);
        return new RunSummary
        {
            Status = snapshot.State.StatusName(),
            RunId = snapshot.RunId,
            RunName = snapshot.RunName,
            WorldSize = snapshot.WorldSize,
            Stages = snapshot.Stages.Select(s => new StageSummary
            {
                Name = s.Name,
                Kind = s.Kind.ToName(),
                State = s.State,
                Steps = s.Step,
                SamplesSeen = s.SamplesSeen,
                FinalLoss = s.Losses.TryGetValue("loss", out var loss) ? loss : null,
                Losses = s.Losses,
                Eval = s.Eval,
                WallS = s.WallSeconds,
            }).ToList(),
            Eval = evaluated?.Eval ?? new Dictionary<string, double>(),
            EvalStage = evaluated?.Name,
            Ledger = snapshot.Ledger,
            Recoveries = snapshot.Recoveries,
            WallS = snapshot.WallSeconds,
            StartedAt = snapshot.StartedAt,
            FinishedAt = snapshot.UpdatedAt,
            Error = snapshot.Error,
        };
    }

    /// <summary>Writes <paramref name="path"/> atomically (temporary file, then rename), so readers never see half a summary.</summary>
    public void Write(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = full + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, RunJson.Options) + "\n");
        File.Move(temporary, full, overwrite: true);
    }

    public static RunSummary Read(string path) =>
        JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), RunJson.Options)
        ?? throw new InvalidDataException($"{path}: empty summary");
}
