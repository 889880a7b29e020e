using MmCluster.Shared.Spec;

namespace MmCluster.Shared.Runs;

/// <summary>
/// The whole run at one moment, as the dashboard shows it and <c>summary.json</c> records it at the end: built by the
/// coordinator's dashboard feed from the RunActor's status. The top-level step, loss and learning rate describe the
/// running stage; each stage's losses and evaluation stay in its own <see cref="StageProgress"/>.
/// </summary>
public sealed record RunSnapshot
{
    public required string RunId { get; init; }

    public string RunName { get; init; } = "";

    public RunState State { get; init; } = RunState.Pending;

    /// <summary>Set by the publisher; grows with every published snapshot.</summary>
    public long Sequence { get; init; }

    /// <summary>The running stage, or the last one that ran; null before the first.</summary>
    public string? Stage { get; init; }

    /// <summary>Every stage, in the order the schedule runs them.</summary>
    public IReadOnlyList<StageProgress> Stages { get; init; } = [];

    public int Epoch { get; init; }

    public long Step { get; init; }

    public double SamplesPerSecond { get; init; }

    public double Loss { get; init; } = double.NaN;

    public double Lr { get; init; }

    public int WorldSize { get; init; }

    /// <summary>The current generation (grows with every stage and every recovery).</summary>
    public long Generation { get; init; }

    /// <summary>Every recovery so far, oldest first.</summary>
    public IReadOnlyList<RecoverySummary> Recoveries { get; init; } = [];

    public IReadOnlyList<WorkerProgress> Workers { get; init; } = [];

    /// <summary>Share of step time spent in collectives (0..1), averaged over workers.</summary>
    public double CollectiveFraction { get; init; }

    public EvalResult? LastEval { get; init; }

    public IReadOnlyList<LedgerCounters> Ledger { get; init; } = [];

    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    public DateTimeOffset UpdatedAt { get; init; } = DateTimeOffset.UtcNow;

    public double WallSeconds { get; init; }

    /// <summary>Why the run failed, naming the worker or stage; null otherwise.</summary>
    public string? Error { get; init; }

    /// <summary>A pending run with every stage of <paramref name="spec"/> pending, in schedule order.</summary>
    public static RunSnapshot Initial(string runId, RunSpec spec, int worldSize)
    {
        var graph = StageGraph.Build(spec.Stages.Select(s => new StageNode(s.Name!, s.DependsOn)).ToList());
        var byName = spec.Stages.ToDictionary(s => s.Name!);
        return new RunSnapshot
        {
            RunId = runId,
            RunName = spec.Name ?? "",
            WorldSize = worldSize,
            Stages = graph.Order.Select(name => new StageProgress
            {
                Name = name,
                Kind = byName[name].Kind ?? throw new ArgumentException($"stage {name} has no kind: validate the spec first", nameof(spec)),
                DependsOn = byName[name].DependsOn,
                TotalSteps = byName[name].Steps ?? 0,
            }).ToList(),
        };
    }
}
