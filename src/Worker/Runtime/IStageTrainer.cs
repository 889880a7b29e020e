using MmCluster.Worker.Training;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// One stage kind's model, trainer and evaluation as <see cref="StageTrainingSession"/> drives them: batches in, a step out,
/// held-out metrics on schedule, a checkpoint when due. Built on the trainer thread by the session's kind; every call comes
/// from that thread.
/// </summary>
internal interface IStageTrainer : IDisposable
{
    /// <summary>Steps completed so far (after a resume, the checkpoint's).</summary>
    long Step { get; }

    /// <summary>The epoch the feed starts in (a resumed checkpoint's).</summary>
    int StartEpoch { get; }

    /// <summary>Turns manifest rows into this stage's batches (decoder and tokenizer of its model).</summary>
    BatchBuilder Batches { get; }

    /// <summary>One synchronous step; its <see cref="StageStepResult.Losses"/> are reported by term name.</summary>
    StageStepResult Train(ClipBatch batch);

    /// <summary>Metrics of the last step beyond loss, lr and grad norm (CLIP's phase times and logit scale).</summary>
    StepMetrics StepMetrics { get; }

    /// <summary>The held-out evaluation; a collective call (every rank calls it at the same step).</summary>
    IReadOnlyDictionary<string, double> Evaluate();

    /// <summary>
    /// Takes part in a state transfer of a recovery generation, on every rank of <paramref name="group"/> (the source
    /// included): afterwards this trainer's weights, buffers, AdamW state, step and the torch generator are bit-identical to
    /// <paramref name="sourceRank"/>'s (<see cref="Recovery.TrainingStateTransfer"/>). A collective call; throws on every
    /// rank, naming the first differing tensor, when the ranks' model or optimizer layouts differ.
    /// </summary>
    Recovery.TrainingStateTransferResult TransferState(Collectives.ICollectiveGroup group, int sourceRank);

    /// <summary>Rank 0 writes the training checkpoint of the current step into <paramref name="store"/>.</summary>
    void Save(Checkpoints.CheckpointStore store, Checkpoints.CheckpointMetadata metadata);
}
