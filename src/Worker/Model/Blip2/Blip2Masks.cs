using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// The Q-Former's self-attention masks for its three objectives (BLIP-2 Fig. 2), over the sequence [Q queries, T text
/// tokens]; true means row i may attend to column j. Padding text columns are never attended.
/// ITC is uni-modal (queries see queries, text sees text), ITM bi-directional, ITG multimodal causal (queries see only
/// queries; text sees every query and the text up to itself). Running the ITC mask in one pass is equivalent to LAVIS's
/// separate query and text passes, and the ITG mask to its text pass over the queries' cached keys and values.
/// </summary>
public static class Blip2Masks
{
    /// <param name="textValid">(B, T) bool, false on padding.</param>
    /// <returns>(B, Q+T, Q+T) bool.</returns>
    public static Tensor Itc(long queries, Tensor textValid) => Build(queries, textValid, (isQueryRow, isQueryColumn, _) =>
        isQueryRow.eq(isQueryColumn));

    public static Tensor Itm(long queries, Tensor textValid) => Build(queries, textValid, (_, _, causal) => ones_like(causal));

    public static Tensor Itg(long queries, Tensor textValid) => Build(queries, textValid, (isQueryRow, isQueryColumn, causal) =>
    {
        using var textRow = isQueryRow.logical_not();
        using var textSees = isQueryColumn.logical_or(causal);   // every query, and text up to itself
        using var queryRowSees = isQueryRow.logical_and(isQueryColumn);
        using var textRowSees = textRow.logical_and(textSees);
        return queryRowSees.logical_or(textRowSees);
    });

    /// <summary>(B, L, L) bool -> (B, 1, L, L) float: 0 where allowed, -inf where not (added to the attention scores).</summary>
    public static Tensor ToAdditive(Tensor allowed, ScalarType dtype = ScalarType.Float32)
    {
        using var zero = zeros(allowed.shape, dtype, allowed.device);
        using var notAllowed = allowed.logical_not();
        // An explicit Scalar held to the end of the call: an implicit one is a finalizable temporary the GC may free while
        // libtorch still reads it (seen once as "Expected false to be true" from c10 Scalar::toFloat in masked_fill).
        using var negativeInfinity = double.NegativeInfinity.ToScalar();
        using var masked = zero.masked_fill(notAllowed, negativeInfinity);
        return masked.unsqueeze(1);
    }

    /// <param name="structure">(isQueryRow (L,1), isQueryColumn (1,L), causal (L,L) column ≤ row) -> (L, L) bool.</param>
    private static Tensor Build(long queries, Tensor textValid, Func<Tensor, Tensor, Tensor, Tensor> structure)
    {
        var (b, t) = (textValid.shape[0], textValid.shape[1]);
        var length = queries + t;
        var device = textValid.device;
        using var positions = HeldScalars.Range(length, device);
        using var isQuery = positions.Less(queries);
        using var isQueryRow = isQuery.unsqueeze(1);
        using var isQueryColumn = isQuery.unsqueeze(0);
        using var rows = positions.unsqueeze(1);
        using var columns = positions.unsqueeze(0);
        using var causal = columns.le(rows);
        using var raw = structure(isQueryRow, isQueryColumn, causal);
        using var shape = raw.expand(length, length);                                             // (L, L)
        using var queryValid = ones([b, queries], ScalarType.Bool, device);
        using var textBool = textValid.to_type(ScalarType.Bool);
        using var keys = cat([queryValid, textBool], 1);                                          // (B, L)
        using var keyValid = keys.unsqueeze(1);                                                   // (B, 1, L)
        using var batched = shape.unsqueeze(0);
        return batched.logical_and(keyValid);                                                     // (B, L, L)
    }
}
