using TorchSharp.Modules;

namespace MmCluster.Worker.Training;

/// <summary>
/// What a training checkpoint saves and restores of a trainer besides the model (every stage's <see cref="StageOptimizer"/>):
/// AdamW's state per trainable parameter, by name, and the schedule's position.
/// </summary>
internal interface IOptimizerState
{
    AdamW Optimizer { get; }

    /// <summary>Trainable parameters with their state_dict names, in the optimizer's state order.</summary>
    IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters { get; }

    long Step { get; set; }
}
