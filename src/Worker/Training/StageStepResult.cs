namespace MmCluster.Worker.Training;

/// <summary>
/// Scalars out of one step of any stage (<see cref="IStageStep.Run"/>): the total loss and each named part (stage 1:
/// <c>itc</c>, <c>itm</c>, <c>itg</c>), for the progress feed, dashboard and summary.json.
/// </summary>
/// <param name="Step">1-based number of the step just completed.</param>
/// <param name="GradNorm">Global L2 norm of the averaged gradients before clipping.</param>
public record StageStepResult(long Step, float Loss, double LearningRate, double GradNorm, IReadOnlyDictionary<string, float> Losses)
{
    /// <summary>What the step measured beyond loss, lr and grad norm (CLIP: logit scale and phase times); none by default.</summary>
    public virtual StepMetrics Metrics => StepMetrics.None;
}
