using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// Called by <see cref="Training.StageOptimizer"/> between backward and clipping: a distributed implementation replaces each
/// parameter's gradient by its mean over ranks (sum / W, logit scale included), which with a gather-with-gradient loss
/// makes the step equal to the one-process step on the global batch. <see cref="LocalGradients"/> is world size 1.
/// </summary>
public interface IGradientAverager
{
    /// <summary>Called on the training thread before a step's forward (an overlapping averager starts listening to the blocks then).</summary>
    void BeginStep()
    {
    }

    /// <param name="parameters">Trainable parameters in a fixed order, identical on every rank; gradients are set.</param>
    void AverageGradients(IReadOnlyList<Parameter> parameters);

    /// <summary>
    /// The same, told which rows of a lookup table can have a gradient on this rank (<paramref name="touched"/>), so a
    /// row-sparse implementation need not scan the table's dense gradient to find them.
    /// </summary>
    void AverageGradients(IReadOnlyList<Parameter> parameters, IReadOnlyList<TouchedRows> touched) => AverageGradients(parameters);
}

/// <summary>
/// A promise about one step: only rows of <paramref name="Table"/> listed in <paramref name="Ids"/> (any shape, int64,
/// repeats allowed) can have a non-zero gradient, because the table is used only by looking those ids up (an embedding
/// that is not tied to anything else). Debug builds check the promise against the gradient.
/// </summary>
public sealed record TouchedRows(Parameter Table, Tensor Ids);
