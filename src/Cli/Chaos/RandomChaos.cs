namespace MmCluster.Cli.Chaos;

/// <summary>
/// <c>random:mtbf=60s,seed=7[,targets=workers+coordinator]</c>: SIGKILLs at exponentially distributed intervals with mean
/// <see cref="Mtbf"/>, victims drawn uniformly from the workers (and the coordinator when targeted), all from
/// <see cref="Seed"/>, so a seed replays the same faults at the same offsets.
/// </summary>
internal sealed record RandomChaos(TimeSpan Mtbf, int Seed, bool Workers, bool Coordinator)
{
    /// <summary>The endless sequence of kills for a cluster of <paramref name="workers"/> workers, by time since start.</summary>
    public IEnumerable<ChaosAction> Actions(int workers)
    {
        var targets = new List<string>();
        if (Workers)
        {
            targets.AddRange(Enumerable.Range(0, workers).Select(i => $"worker-{i}"));
        }
        if (Coordinator)
        {
            targets.Add(ChaosAction.Coordinator);
        }
        if (targets.Count == 0)
        {
            yield break;
        }
        var random = new Random(Seed);
        var at = TimeSpan.Zero;
        while (true)
        {
            // Inverse CDF of the exponential distribution; 1 - U lies in (0, 1], so the log is finite.
            at += Mtbf * -Math.Log(1 - random.NextDouble());
            yield return new ChaosAction { Kind = ChaosKind.Kill, Target = targets[random.Next(targets.Count)], After = at };
        }
    }
}
