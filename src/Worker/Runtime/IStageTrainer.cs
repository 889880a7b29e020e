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
    /// Every rank of a recovery generation calls it: afterwards every rank holds rank <paramref name="sourceRank"/>'s full
    /// training state (weights, optimizer state, step, RNG), received over <paramref name="group"/>.
    /// </summary>
    void TransferState(MmCluster.Collectives.ICollectiveGroup group, int sourceRank);

    /// <summary>Rank 0 writes the training checkpoint of the current step into <paramref name="store"/>.</summary>
    void Save(Checkpoints.CheckpointStore store, Checkpoints.CheckpointMetadata metadata);
}
