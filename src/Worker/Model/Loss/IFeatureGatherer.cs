using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// Gathers a (b, ...) feature tensor from every rank into (W·b, ...) in rank order, inside autograd: the backward sends
/// each rank the sum over ranks of the gradient of its own rows (a reduce-scatter). Losses take one of these, the way
/// OpenCLIP keeps gather_features apart from ClipLoss; <see cref="SingleRankGatherer"/> makes every loss testable in one process.
/// </summary>
public interface IFeatureGatherer
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>(b, ...) -> (W·b, ...), differentiable. Every rank must pass the same b. Returns a fresh tensor.</summary>
    Tensor AllGather(Tensor local);
}
