using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// One AdamW update of a tensor, element for element what TorchSharp's <see cref="TorchSharp.Modules.AdamW"/> step does
/// (decoupled weight decay, then the moments, then the bias-corrected step), with every number passed to libtorch as a
/// <see cref="Scalar"/> this method holds until the call returns. TorchSharp 0.107's own step converts numbers to scalars
/// that only a finalizer frees and does not keep them alive across the native call, so a garbage collection during its
/// step can free one that libtorch is reading ("Unknown scalar type", docs/fault-tolerance.md); this one cannot.
/// </summary>
internal static class AdamWUpdate
{
    /// <param name="step">The step count after this step (1 for the first), for the bias corrections.</param>
    public static void Apply(Tensor parameter, Tensor grad, Tensor expAvg, Tensor expAvgSq, long step,
        double lr, double weightDecay, double beta1, double beta2, double eps)
    {
        using var noGrad = no_grad();
        if (weightDecay != 0)
        {
            using var decay = (1 - (lr * weightDecay)).ToScalar();
            parameter.mul_(decay);
        }
        var biasCorrection1 = 1 - Math.Pow(beta1, step);
        var biasCorrection2 = 1 - Math.Pow(beta2, step);
        using var b1 = beta1.ToScalar();
        using var oneMinusB1 = (1 - beta1).ToScalar();
        using var b2 = beta2.ToScalar();
        using var oneMinusB2 = (1 - beta2).ToScalar();
        using var sqrtCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
        using var epsilon = eps.ToScalar();
        using var stepSize = (-(lr / biasCorrection1)).ToScalar();
        expAvg.mul_(b1).add_(grad, alpha: oneMinusB1);
        expAvgSq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
        using var denom = expAvgSq.sqrt();
        denom.div_(sqrtCorrection2).add_(epsilon, HeldScalars.One);
        parameter.addcdiv_(expAvg, denom, value: stepSize);
    }
}
