using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// ITM's hard negatives (LAVIS blip2_qformer.py): for each of this rank's b rows, one column of the global batch drawn with
/// multinomial(softmax(sharpness · similarity)), the positive excluded (sharpness 1: LAVIS's draw). LAVIS fills the positive's logit with -10000; here its weight is
/// set to exactly zero after the softmax, so the positive can never be drawn. With <c>groups</c> (LAVIS's image_id; here the
/// class label) every column of the row's own group is excluded too, unless that would leave none.
/// </summary>
public static class HardNegativeSampler
{
    /// <param name="similarity">(b, B) this rank's rows against the gathered columns; row i's positive is column firstPositive + i.</param>
    /// <param name="firstPositive">The column of row 0's positive: this rank's offset in the global batch (<see cref="IBatchLayout.RowOffset"/>).</param>
    /// <param name="generator">Seeded generator: the draw is deterministic.</param>
    /// <param name="rowGroups">(b,) int64 group of each local row, or null.</param>
    /// <param name="columnGroups">(B,) int64 group of each gathered column, or null.</param>
    /// <param name="sharpness">Multiplies the similarities before the softmax: 1 is LAVIS's draw, 0 a uniform draw among
    /// the columns not excluded, in between a softer preference for the hardest.</param>
    /// <returns>(b,) int64 column indices.</returns>
    public static Tensor Sample(
        Tensor similarity, long firstPositive, Generator generator, Tensor? rowGroups = null, Tensor? columnGroups = null, double sharpness = 1)
    {
        var (b, columns) = (similarity.shape[0], similarity.shape[1]);
        if (columns < 2)
        {
            throw new ArgumentException($"a hard negative needs at least 2 pairs in the global batch, got {columns}", nameof(similarity));
        }
        using var _ = no_grad();
        using var excluded = Excluded(b, columns, firstPositive, rowGroups, columnGroups, similarity.device);
        using var veryNegative = (-10000.0).ToScalar();   // explicit Scalars, alive until the calls return (Blip2Masks.ToAdditive)
        using var zero = 0.0.ToScalar();
        using var detached = similarity.detach();
        using var scaled = detached.Times(sharpness);
        using var logits = scaled.masked_fill(excluded, veryNegative);
        using var softmaxed = logits.softmax(1);
        using var weights = softmaxed.masked_fill(excluded, zero);
        using var drawn = multinomial(weights, 1, generator: generator);   // (b, 1)
        return drawn.squeeze(1);
    }

    /// <summary>(b, B) bool: the positives, and each row's group when given (dropped for rows it would leave empty).</summary>
    internal static Tensor Excluded(long b, long columns, long firstPositive, Tensor? rowGroups, Tensor? columnGroups, Device device)
    {
        using var rows = HeldScalars.Range(b, device);
        using var positiveColumn = rows.Plus(firstPositive).unsqueeze(1);               // (b, 1)
        using var allColumns = HeldScalars.Range(columns, device).unsqueeze(0);
        var positives = allColumns.eq(positiveColumn);                                // (b, B)
        if (rowGroups is null || columnGroups is null)
        {
            return positives;
        }
        using (positives)
        {
            using var sameGroup = rowGroups.unsqueeze(1).eq(columnGroups.unsqueeze(0));
            using var withGroup = sameGroup.logical_or(positives);
            using var anyLeft = withGroup.logical_not().any(1, keepdim: true);        // (b, 1)
            return where(anyLeft, withGroup, positives);
        }
    }
}
