namespace MmCluster.Worker.Training;

/// <summary>
/// One stage kind's synchronous train step (<see cref="TrainStep"/>, <see cref="LmTrainStep"/>, <see cref="Blip2Stage1Step"/>,
/// <see cref="Blip2Stage2Step"/>): its own forward and loss, then the one optimizer path every kind shares,
/// <see cref="StageOptimizer"/> (parameter groups, schedule, gradient averaging, clipping, AdamW), whose state a checkpoint
/// saves and restores.
/// </summary>
public interface IStageStep : IDisposable
{
    StageOptimizer Optimizer { get; }

    StageStepResult Run(ClipBatch batch);
}
