namespace MmCluster.Worker.Training;

/// <summary>Scalars out of one <see cref="TrainStep.Run"/>: what the worker reports to the coordinator and dashboard.</summary>
/// <param name="Step">1-based number of the step just completed.</param>
/// <param name="GradNorm">Global L2 norm of the averaged gradients before clipping.</param>
/// <param name="LogitScale">exp(logit_scale) after the update (clamped to at most 100).</param>
public sealed record TrainStepResult(long Step, float Loss, double LearningRate, double GradNorm, double LogitScale)
    : StageStepResult(Step, Loss, LearningRate, GradNorm, new Dictionary<string, float>())
{
    /// <summary>The logit scale and the phases, as the progress feed reports them.</summary>
    public override StepMetrics Metrics => new(Phases, LogitScale);
}

/// <summary>
/// Wall milliseconds of one step's phases: forward, loss and backward (with the feature all-gather and its reduce-scatter),
/// gradient averaging over ranks, and clipping plus the optimizer update.
/// </summary>
public sealed record StepPhases(double ForwardBackwardMs, double AverageMs, double OptimizerMs)
{
    /// <summary>No step timed yet.</summary>
    public static StepPhases None { get; } = new(0, 0, 0);

    /// <summary>The phases between four <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> readings: start, backward done, averaged, updated.</summary>
    public static StepPhases Between(long started, long backwardDone, long averaged, long updated) => new(
        System.Diagnostics.Stopwatch.GetElapsedTime(started, backwardDone).TotalMilliseconds,
        System.Diagnostics.Stopwatch.GetElapsedTime(backwardDone, averaged).TotalMilliseconds,
        System.Diagnostics.Stopwatch.GetElapsedTime(averaged, updated).TotalMilliseconds);
}
