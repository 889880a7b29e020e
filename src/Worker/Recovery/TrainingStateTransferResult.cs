

namespace MmCluster.Worker.Recovery;

/// <summary>
/// What one <see cref="TrainingStateTransfer.Broadcast(MmCluster.Collectives.ICollectiveGroup, int, TorchSharp.torch.nn.Module, Training.StageOptimizer)"/>
/// moved, the same on every rank, so a recovery can report its state-transfer time.
/// </summary>
/// <param name="SourceRank">The rank whose state every rank now holds.</param>
/// <param name="Step">The optimizer's step (schedule position) every rank now holds.</param>
/// <param name="Tensors">Tensors in the state: the model's state_dict, the AdamW moments, the step counts and the RNG state.</param>
/// <param name="Bytes">Payload bytes broadcast (each tensor's bytes padded to a multiple of 4; the header excluded); 0 for one rank.</param>
/// <param name="Buckets">Payload broadcasts (each at most the bucket size, ~25 MB).</param>
/// <param name="Milliseconds">Wall time of the whole transfer on this rank, header and check included.</param>
public sealed record TrainingStateTransferResult(int SourceRank, long Step, int Tensors, long Bytes, int Buckets, double Milliseconds);
