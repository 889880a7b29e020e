namespace MmCluster.Worker.Runtime;

/// <summary>Where a rank resumed from a checkpoint starts reading the manifest.</summary>
internal static class ResumeEpochs
{
    /// <summary>
    /// The epoch a resumed rank starts asking the ledger for. The checkpoint's own epoch is where rank 0's data feed was
    /// reading when it saved, which runs ahead of training by the batches it prefetched (whole epochs in a small run), so
    /// starting there would skip the open rows of earlier epochs. <c>step / steps per epoch</c>, less one for skipped rows
    /// and uneven epoch ends, is at or below the ledger's first open epoch, and the feed moves on past epochs the ledger
    /// says are complete.
    /// </summary>
    public static int Of(long step, int checkpointEpoch, long stepsPerEpoch) =>
        stepsPerEpoch <= 0 ? checkpointEpoch : (int)Math.Max(0, Math.Min(checkpointEpoch, step / stepsPerEpoch - 1));
}
