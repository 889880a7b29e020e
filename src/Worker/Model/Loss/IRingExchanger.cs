using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// One differentiable step around the ring of ranks, for losses whose blocks travel instead of being gathered (SigLIP):
/// keeps Model/ free of transport. Every rank calls it the same number of times with tensors of the same shape.
/// </summary>
public interface IRingExchanger
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>
    /// Sends <paramref name="send"/> to rank r+1 and returns (a fresh tensor of the same shape) what rank r-1 sent, or the
    /// reverse when <paramref name="forward"/> is false. Backward sends the gradient back the opposite way to its owner.
    /// </summary>
    Tensor Exchange(Tensor send, bool forward = true);
}
