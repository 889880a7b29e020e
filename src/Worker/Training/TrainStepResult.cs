namespace MmCluster.Worker.Training;

/// <summary>Scalars out of one <see cref="TrainStep.Run"/>: what the worker reports to the coordinator and dashboard.</summary>
/// <param name="Step">1-based number of the step just completed.</param>
/// <param name="GradNorm">Global L2 norm of the averaged gradients before clipping.</param>
/// <param name="LogitScale">exp(logit_scale) after the update (clamped to at most 100).</param>
public sealed record TrainStepResult(long Step, float Loss, double LearningRate, double GradNorm, double LogitScale);
