using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// The Q-Former's text input built from caption rows (ids, &lt;|endoftext|&gt;, padding): [CLS] (or [DEC] for ITG)
/// followed by the row shifted right, and the validity of each position (true up to and including the first EOT).
/// ITG's labels are then exactly <see cref="CaptionTargets.Labels"/> of the rows: text position p predicts row[p].
/// </summary>
public static class QFormerText
{
    /// <param name="rows">(B, T) caption rows.</param>
    /// <returns>Ids (B, T) starting with <paramref name="startId"/>, and Valid (B, T) bool.</returns>
    public static (Tensor Ids, Tensor Valid) FromCaptions(Tensor rows, long startId, long endOfText)
    {
        var ids = CaptionTargets.Inputs(rows, startId);
        using var labels = CaptionTargets.Labels(rows, endOfText);
        using var labelled = labels.NotEqualTo(CaptionTargets.IgnoreIndex);
        using var shifted = labelled.narrow(1, 0, rows.shape[1] - 1);
        using var first = ones([rows.shape[0], 1], ScalarType.Bool, rows.device);
        return (ids, cat([first, shifted], 1));
    }
}
