using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// Turns caption rows as <see cref="Training.CaptionTokenizer"/> writes them (ids, &lt;|endoftext|&gt;, zero padding) into
/// teacher-forcing pairs: inputs are BOS followed by the row shifted right; labels are the row itself with everything after
/// the first end-of-text, and the first <c>promptTokens</c> positions, set to <see cref="IgnoreIndex"/> (PyTorch's -100).
/// </summary>
public static class CaptionTargets
{
    public const long IgnoreIndex = -100;

    /// <summary>(B, T) rows -> (B, T): [BOS, row[0..T-2]].</summary>
    public static Tensor Inputs(Tensor rows, long bos)
    {
        var (b, t) = (rows.shape[0], rows.shape[1]);
        using var head = HeldScalars.Filled([b, 1], bos, rows.device);
        using var body = rows.narrow(1, 0, t - 1);
        return cat([head, body], 1);
    }

    /// <summary>(B, T) rows -> (B, T) labels: the row up to and including its first EOT, -100 elsewhere and on the prompt.</summary>
    public static Tensor Labels(Tensor rows, long endOfText, int promptTokens = 0)
    {
        using var isEnd = rows.EqualTo(endOfText).to_type(ScalarType.Int64);
        using var seen = isEnd.cumsum(1);
        using var endsBefore = seen - isEnd;                       // EOTs strictly before each position
        using var afterEnd = endsBefore.Greater(0);
        using var positions = HeldScalars.Range(rows.shape[1], rows.device);
        using var inPrompt = positions.Less(promptTokens).unsqueeze(0);
        using var ignored = afterEnd.logical_or(inPrompt);
        using var ignoreIndex = IgnoreIndex.ToScalar();   // explicit, alive until the call returns (Blip2Masks.ToAdditive)
        return rows.masked_fill(ignored, ignoreIndex);
    }

    /// <summary>Prepends <paramref name="prefixLength"/> ignored positions: labels for a soft-prompted sequence.</summary>
    public static Tensor WithIgnoredPrefix(Tensor labels, long prefixLength)
    {
        using var prefix = HeldScalars.Filled([labels.shape[0], prefixLength], IgnoreIndex, labels.device);
        return cat([prefix, labels], 1);
    }
}
