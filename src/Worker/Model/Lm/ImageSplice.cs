using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// Where image tokens go in a language model's input (LLaVA's prepare_inputs_labels_for_multimodal): the P image tokens
/// replace the placeholder at text position p, so the sequence is [text 0..p-1, image 0..P-1, text p..T-1]. Text token j
/// keeps its learned position j (<see cref="CaptionLm.Embed"/>); image tokens get none, like BLIP-2's soft prompt.
/// <para>
/// Labels follow <see cref="CaptionTargets"/>: text labels (B, T) are already shifted, labels[t] being the id that follows
/// text token t (-100: not supervised). In the sequence that prediction is made at the position directly before text token
/// t+1: the last image token for t = p-1 (the first text after the image is predicted having seen it, as LLaVA's shifted
/// labels do), text position t otherwise. Image tokens are never targets; with p = 0 nothing predicts text token 0.
/// </para>
/// </summary>
public static class ImageSplice
{
    /// <param name="text">(B, T, W) embedded text.</param>
    /// <param name="image">(B, P, W) image tokens.</param>
    /// <returns>(B, P+T, W).</returns>
    public static Tensor Embeddings(Tensor text, Tensor image, long position)
    {
        var t = text.shape[1];
        Check(position, t);
        using var before = text.narrow(1, 0, position);
        using var after = text.narrow(1, position, t - position);
        return cat([before, image, after], 1);
    }

    /// <param name="labels">(B, T) shifted text labels, -100 where there is no target.</param>
    /// <returns>(B, P+T): sequence position i predicts the returned [:, i].</returns>
    public static Tensor Labels(Tensor labels, long position, long imageTokens)
    {
        var t = labels.shape[1];
        Check(position, t);
        var at = Math.Max(position - 1, 0);
        using var before = labels.narrow(1, 0, at);
        using var after = labels.narrow(1, at, t - at);
        using var ignored = HeldScalars.Filled([labels.shape[0], imageTokens], CaptionTargets.IgnoreIndex, labels.device);
        return cat([before, ignored, after], 1);
    }

    /// <returns>(B, P+T, 1) bool: true at the image tokens [p, p+P).</returns>
    public static Tensor Mask(long rows, long textTokens, long position, long imageTokens, Device? device = null)
    {
        Check(position, textTokens);
        using var positions = HeldScalars.Range(textTokens + imageTokens, device);
        using var from = positions.AtLeast(position);
        using var to = positions.Less(position + imageTokens);
        using var image = from.logical_and(to);
        using var column = image.view(1, -1, 1);
        return column.expand(rows, -1, -1);
    }

    private static void Check(long position, long textTokens)
    {
        if (position < 0 || position > textTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"the image position must lie in [0, {textTokens}], the text's length");
        }
    }
}
