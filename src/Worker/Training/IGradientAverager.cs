using TorchSharp.Modules;

namespace MmCluster.Worker.Training;

/// <summary>
/// Called by <see cref="TrainStep"/> between backward and clipping: a distributed implementation replaces each
/// parameter's gradient by its mean over ranks (sum / W, logit scale included), which with a gather-with-gradient loss
/// makes the step equal to the one-process step on the global batch. <see cref="LocalGradients"/> is world size 1.
/// </summary>
public interface IGradientAverager
{
    /// <param name="parameters">Trainable parameters in a fixed order, identical on every rank; gradients are set.</param>
    void AverageGradients(IReadOnlyList<Parameter> parameters);
}
