using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model;

/// <summary>
/// <c>a + b</c> for the models' residual and embedding sums without a temporary Scalar: TorchSharp's <c>a + b</c> is
/// <c>add(b, alpha: 1)</c> with a new finalizable Scalar that the GC may free while libtorch still reads it (the worker's
/// "toFloat" step failures named this call: docs/fault-tolerance.md, "libtorch step failures"). The alpha here lives as
/// long as the process.
/// </summary>
public static class Residual
{
    public static Tensor Add(Tensor a, Tensor b) => a.Plus(b);
}
