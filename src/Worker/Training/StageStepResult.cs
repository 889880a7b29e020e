namespace MmCluster.Worker.Training;

/// <summary>
/// Scalars out of one step of a BLIP-2-schedule stage (lm, blip2-stage1, blip2-stage2): the total loss and each named
/// part (stage 1: <c>itc</c>, <c>itm</c>, <c>itg</c>), for the progress feed, dashboard and summary.json.
/// </summary>
/// <param name="Step">1-based number of the step just completed.</param>
/// <param name="GradNorm">Global L2 norm of the averaged gradients before clipping.</param>
public sealed record StageStepResult(long Step, float Loss, double LearningRate, double GradNorm, IReadOnlyDictionary<string, float> Losses);
