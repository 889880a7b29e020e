namespace MmCluster.Coordinator.Progress;

/// <summary>
/// Which worker the others wait for (pure). In a synchronous step every rank leaves each collective together, so the rank
/// that arrives last waits least: the straggler is the training worker with the lowest time in collectives. It is named
/// only when at least two workers reported timings and the spread is meaningful: the others' mean collective time
/// exceeds the lowest by at least 10% of the workers' mean step time and by at least 1 ms (below that, the difference is
/// the noise of one step and no rank holds the others back).
/// </summary>
public static class StragglerRule
{
    public const double MinShareOfStep = 0.10;
    public const double MinSpreadMs = 1.0;

    /// <summary>The index into <paramref name="workers"/> of the straggler, or -1 when there is none.</summary>
    /// <param name="workers">Each training worker's last step time and time in collectives (ms); untimed ones (step 0) are ignored.</param>
    public static int Find(IReadOnlyList<(double StepMs, double CollectiveMs)> workers)
    {
        var timed = Enumerable.Range(0, workers.Count).Where(i => workers[i].StepMs > 0).ToList();
        if (timed.Count < 2)
        {
            return -1;
        }
        var lowest = timed.MinBy(i => workers[i].CollectiveMs);
        var others = timed.Where(i => i != lowest).Average(i => workers[i].CollectiveMs);
        var meanStep = timed.Average(i => workers[i].StepMs);
        var spread = others - workers[lowest].CollectiveMs;
        return spread >= MinSpreadMs && spread >= MinShareOfStep * meanStep ? lowest : -1;
    }
}
