using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// Where image tokens go in a language model's input (LLaVA's prepare_inputs_labels_for_multimodal): the P image tokens
/// replace the placeholder at text position p, so the sequence is [text 0..p-1, image 0..P-1, text p..T-1]. Text token j
/// keeps its learned position j (<see cref="CaptionLm.Embed"/>); image tokens get none, like BLIP-2's soft prompt.
/// <para>
/// Each row may have its own p (the image after a question of its own length): the per-row overloads gather the rows'
/// layouts, and take the single-position path when every row's p is the same.
/// </para>
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

    /// <summary>Per-row image positions: row b's image tokens at its <paramref name="positions"/>[b].</summary>
    public static Tensor Embeddings(Tensor text, Tensor image, IReadOnlyList<long> positions)
    {
        if (Uniform(positions, text.shape[0]) is { } position)
        {
            return Embeddings(text, image, position);
        }
        var (rows, t, p) = (text.shape[0], text.shape[1], image.shape[1]);
        // Sequence position i of row b reads text i before the image, image i-p in it, text i-P after it; the image
        // follows the text in the gathered source, so image j is source position T+j.
        using var index = Layout(positions, t, p, text.device, (i, at) => i < at ? i : i < at + p ? t + i - at : i - p);
        using var source = cat([text, image], 1);                             // (B, T+P, W)
        using var column = index.unsqueeze(-1);
        using var expanded = column.expand(rows, t + p, text.shape[2]);
        return source.gather(1, expanded);
    }

    /// <summary>Per-row image positions (<see cref="Embeddings(Tensor, Tensor, IReadOnlyList{long})"/>).</summary>
    public static Tensor Labels(Tensor labels, IReadOnlyList<long> positions, long imageTokens)
    {
        if (Uniform(positions, labels.shape[0]) is { } position)
        {
            return Labels(labels, position, imageTokens);
        }
        var t = labels.shape[1];
        // As the single-position path: from at = max(p-1, 0) the P positions predict nothing (source position T, the
        // ignored column), then sequence position i predicts labels[i-P].
        using var index = Layout(positions, t, imageTokens, labels.device, (i, p) =>
        {
            var at = Math.Max(p - 1, 0);
            return i < at ? i : i < at + imageTokens ? t : i - imageTokens;
        });
        using var ignored = HeldScalars.Filled([labels.shape[0], 1], CaptionTargets.IgnoreIndex, labels.device);
        using var source = cat([labels, ignored], 1);                         // (B, T+1)
        return source.gather(1, index);
    }

    /// <summary>Per-row image positions: (B, P+T, 1) bool, true at row b's image tokens.</summary>
    public static Tensor Mask(long textTokens, IReadOnlyList<long> positions, long imageTokens, Device? device = null)
    {
        var rows = positions.Count;
        if (Uniform(positions, rows) is { } position)
        {
            return Mask(rows, textTokens, position, imageTokens, device);
        }
        var length = textTokens + imageTokens;
        var mask = new bool[rows * length];
        for (var b = 0; b < rows; b++)
        {
            Check(positions[b], textTokens);
            Array.Fill(mask, true, (int)(b * length + positions[b]), (int)imageTokens);
        }
        return tensor(mask, [rows, length, 1], device: device);
    }

    /// <summary>The one position every row shares, or null; throws when the count is not the batch's.</summary>
    private static long? Uniform(IReadOnlyList<long> positions, long rows)
    {
        if (positions.Count != rows)
        {
            throw new ArgumentException($"{positions.Count} image positions for {rows} rows", nameof(positions));
        }
        return positions.All(p => p == positions[0]) ? positions[0] : null;
    }

    /// <summary>(B, T+P) source indices: <paramref name="source"/>(sequence position, the row's image position).</summary>
    private static Tensor Layout(IReadOnlyList<long> positions, long textTokens, long imageTokens, Device device, Func<long, long, long> source)
    {
        var length = textTokens + imageTokens;
        var index = new long[positions.Count * length];
        for (var b = 0; b < positions.Count; b++)
        {
            Check(positions[b], textTokens);
            for (var i = 0L; i < length; i++)
            {
                index[b * length + i] = source(i, positions[b]);
            }
        }
        return tensor(index, [positions.Count, length], device: device);
    }

    private static void Check(long position, long textTokens)
    {
        if (position < 0 || position > textTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"the image position must lie in [0, {textTokens}], the text's length");
        }
    }
}
