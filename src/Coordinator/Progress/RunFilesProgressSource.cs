using System.Runtime.CompilerServices;
using System.Text.Json;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;

namespace MmCluster.Coordinator.Progress;

/// <summary>
/// A finished run seen through its files, for <c>mmcluster dashboard --run-dir</c>: the snapshot is built from
/// <c>summary.json</c> (status, stages, ledger, recoveries, wall time) and the last points of <c>metrics.jsonl</c> (step,
/// epoch, learning rate, samples/s, the workers' last timings), the history is every line of <c>metrics.jsonl</c> (read
/// once), and a subscription yields the snapshot once and ends.
/// </summary>
public sealed class RunFilesProgressSource : IRunProgressSource
{
    private readonly IReadOnlyList<HistoryPoint> _history;

    private RunFilesProgressSource(RunSnapshot current, IReadOnlyList<HistoryPoint> history)
    {
        Current = current;
        _history = history;
    }

    public RunSnapshot Current { get; }

    public IReadOnlyList<HistoryPoint> History => _history;

    /// <summary>Reads <paramref name="runDirectory"/>; throws <see cref="FileNotFoundException"/> when it has no summary.json (the run did not finish).</summary>
    public static RunFilesProgressSource Load(string runDirectory)
    {
        var summaryPath = Path.Combine(runDirectory, "summary.json");
        if (!File.Exists(summaryPath))
        {
            throw new FileNotFoundException($"{runDirectory} has no summary.json: the run did not finish (a running one is on its coordinator's web port)", summaryPath);
        }
        var summary = RunSummary.Read(summaryPath);
        var metricsPath = Path.Combine(runDirectory, "metrics.jsonl");
        var history = File.Exists(metricsPath) ? ReadPoints(metricsPath) : [];
        return new RunFilesProgressSource(Snapshot(summary, history), history);
    }

    public HistorySlice HistorySince(long cursor) =>
        new(cursor <= 0 ? _history : _history.Skip((int)Math.Min(cursor, _history.Count)).ToList(), _history.Count);

    public async IAsyncEnumerable<RunSnapshot> Subscribe([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        cancellationToken.ThrowIfCancellationRequested();
        yield return Current;
    }

    /// <summary>The run's last moment: summary.json's record, with the running numbers of the last stage's last points.</summary>
    internal static RunSnapshot Snapshot(RunSummary summary, IReadOnlyList<HistoryPoint> history)
    {
        var stages = summary.Stages.Select(s => new StageProgress
        {
            Name = s.Name,
            Kind = StageKinds.TryParse(s.Kind, out var kind) ? kind : throw new InvalidDataException($"summary.json: stage '{s.Name}' has an unknown kind '{s.Kind}'"),
            State = s.State,
            Step = s.Steps,
            TotalSteps = s.State == StageState.Done ? s.Steps : history.Where(p => p.Stage == s.Name).Select(p => p.Step).DefaultIfEmpty(0).Max(),
            SamplesSeen = s.SamplesSeen,
            Losses = s.Losses,
            Eval = s.Eval,
            WallSeconds = s.WallS,
            Epoch = history.LastOrDefault(p => p.Stage == s.Name)?.Epoch ?? 0,
        }).ToList();
        var stage = stages.LastOrDefault(s => s.State != StageState.Pending)?.Name ?? history.LastOrDefault()?.Stage;
        var last = history.LastOrDefault(p => p.Stage == stage);
        var eval = history.LastOrDefault(p => p.IsEvaluation);
        return new RunSnapshot
        {
            RunId = summary.RunId,
            RunName = summary.RunName,
            State = RunStates.ParseStatus(summary.Status),
            Sequence = 1,
            Stage = stage,
            Stages = stages,
            Epoch = last?.Epoch ?? 0,
            Step = last?.Step ?? 0,
            SamplesPerSecond = last?.SamplesPerSecond ?? 0,
            Loss = last?.Loss ?? double.NaN,
            Lr = last?.Lr ?? 0,
            WorldSize = summary.WorldSize,
            Generation = last?.Generation ?? 0,
            Recoveries = summary.Recoveries,
            Workers = (last?.Workers ?? []).Select(w => new WorkerProgress
            {
                WorkerId = w.WorkerId,
                Rank = w.Rank,
                State = WorkerState.Ready,
                Step = w.Step,
                StepTimeMs = w.StepMs,
                CollectiveTimeMs = w.CollectiveMs,
                SamplesPerSecond = w.SamplesPerSecond,
                ForwardBackwardMs = w.ForwardBackwardMs,
                GradAverageMs = w.GradAverageMs,
                OptimizerMs = w.OptimizerMs,
                DataWaitMs = w.DataWaitMs,
                LastHeartbeat = last!.Time,
            }).ToList(),
            CollectiveFraction = last is { StepMs: > 0 } ? last.CollectiveMs / last.StepMs : 0,
            LastEval = eval is null ? null : new EvalResult(eval.Stage, eval.Step, eval.Eval!, eval.Time),
            Ledger = summary.Ledger,
            StartedAt = summary.StartedAt,
            UpdatedAt = summary.FinishedAt,
            WallSeconds = summary.WallS,
            Error = summary.Error,
        };
    }

    /// <summary>Every point of a metrics file; a last line cut short (the process died while writing it) is left out.</summary>
    private static List<HistoryPoint> ReadPoints(string path)
    {
        var lines = File.ReadAllLines(path);
        var points = new List<HistoryPoint>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }
            try
            {
                points.Add(JsonSerializer.Deserialize<HistoryPoint>(lines[i], RunJson.Lines)!);
            }
            catch (JsonException) when (i == lines.Length - 1)
            {
                // A torn last line: everything before it is whole.
            }
        }
        return points;
    }
}
