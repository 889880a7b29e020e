using MmCluster.Worker.Training;

namespace MmCluster.Worker.Demo;

/// <summary>
/// Fashion-MNIST as caption batches for the local demos: random batches without replacement (reshuffled each epoch), each
/// caption a random training template of the image's class; and fixed slices of a split for evaluation.
/// </summary>
internal sealed class FashionMnistCaptions(FashionMnist data, CaptionTokenizer tokenizer, int seed)
{
    /// <summary>Every training caption's row, [class][template].</summary>
    public long[][][] Captions => captions;

    private readonly long[][][] captions = [.. FashionMnist.ClassNames
        .Select(c => FashionMnist.TrainingTemplates.Select(t => tokenizer.Encode(t.Replace("{}", c, StringComparison.Ordinal))).ToArray())];
    private readonly Random random = new(seed);
    private readonly int[] order = [.. Enumerable.Range(0, data.Count)];
    private int cursor = data.Count;

    public ClipBatch Next(int size)
    {
        var indices = new int[size];
        for (var i = 0; i < size; i++)
        {
            if (cursor == order.Length)
            {
                random.Shuffle(order);
                cursor = 0;
            }
            indices[i] = order[cursor++];
        }
        return Build(indices, label => random.Next(captions[label].Length));
    }

    /// <summary>Images start..start+count-1, captions cycling through the training templates.</summary>
    public ClipBatch Slice(int start, int count) =>
        Build([.. Enumerable.Range(start, count)], label => (start + label) % captions[label].Length);

    private ClipBatch Build(int[] indices, Func<int, int> template)
    {
        var context = tokenizer.ContextLength;
        var pixels = new float[indices.Length * FashionMnist.Pixels];
        var tokens = new long[indices.Length * context];
        var labels = new int[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            var label = data.Labels[indices[i]];
            data.WriteNormalized(indices[i], pixels.AsSpan(i * FashionMnist.Pixels, FashionMnist.Pixels));
            captions[label][template(label)].CopyTo(tokens.AsSpan(i * context, context));
            labels[i] = label;
        }
        return new ClipBatch(pixels, [indices.Length, 1, FashionMnist.Side, FashionMnist.Side], tokens, context) { Labels = labels };
    }
}
