namespace MmCluster.Worker.Training;

/// <summary>
/// Scalars out of one step of any stage (<see cref="IStageStep.Run"/>): the total loss and each named part (stage 1:
/// <c>itc</c>, <c>itm</c>, <c>itg</c>), for the progress feed, dashboard and summary.json.
/// </summary>
/// <param name="Step">1-based number of the step just completed.</param>
/// <param name="GradNorm">Global L2 norm of the averaged gradients before clipping.</param>
public record StageStepResult(long Step, float Loss, double LearningRate, double GradNorm, IReadOnlyDictionary<string, float> Losses)
{
    /// <summary>Where the step's wall time went (forward + backward, gradient averaging, optimizer); none when not timed.</summary>
    public StepPhases Phases { get; init; } = StepPhases.None;

    /// <summary>What the step measured beyond loss, lr and grad norm: the phase times (CLIP adds its logit scale).</summary>
    public virtual StepMetrics Metrics => ReferenceEquals(Phases, StepPhases.None) ? StepMetrics.None : new(Phases);
}
