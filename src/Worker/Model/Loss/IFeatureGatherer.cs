using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// Gathers a (b_r, ...) feature tensor from every rank into (B, ...) in rank order, inside autograd: the backward sends
/// each rank the sum over ranks of the gradient of its own rows (a reduce-scatter). The ranks may hold different row
/// counts (a global batch B that W does not divide); <see cref="IBatchLayout"/> says where this rank's rows land. Losses
/// take one of these, the way OpenCLIP keeps gather_features apart from ClipLoss; <see cref="SingleRankGatherer"/> makes
/// every loss testable in one process.
/// </summary>
public interface IFeatureGatherer : IBatchLayout
{
    /// <summary>(b_r, ...) -> (B, ...), differentiable, rows in rank order. Returns a fresh tensor.</summary>
    Tensor AllGather(Tensor local);
}
