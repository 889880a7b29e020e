namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// Where this rank's rows sit in the stage's global batch of B rows, under the world as it is at the call (a recovery can
/// change the world during a stage while B stays; docs/exactness.md, "Uneven splits"). The losses need the offset (the
/// columns of their positives); the steps need the weight that makes a mean over this rank's rows count each row as 1/B.
/// </summary>
public interface IBatchLayout
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>The index of this rank's first row in the gathered rows (rank·b for an even split); checks <paramref name="localRows"/>.</summary>
    long RowOffset(long localRows);

    /// <summary>
    /// w_r = b_r·W / B: the factor this rank's loss, a mean over its <paramref name="localRows"/> rows, is scaled by before
    /// backward so that with gradients averaged over W ranks every row of the global batch counts 1/B. Exactly 1 for an
    /// even split.
    /// </summary>
    double LossWeight(long localRows);
}
