namespace MmCluster.Worker.Training;

/// <summary>
/// Turns manifest rows into a <see cref="ClipBatch"/>: decodes each image into its slot of the pixel buffer and tokenizes
/// each caption into its row of the id buffer. Pure CPU work, safe to run on a producer thread.
/// </summary>
public sealed class BatchBuilder(ImageDecoder decoder, CaptionTokenizer tokenizer)
{
    public ImageDecoder Decoder => decoder;

    public CaptionTokenizer Tokenizer => tokenizer;

    public ClipBatch Build(IReadOnlyList<CaptionedImage> rows)
    {
        if (rows.Count == 0)
        {
            throw new ArgumentException("cannot build a batch from zero rows", nameof(rows));
        }
        var perImage = decoder.ValuesPerImage;
        var context = tokenizer.ContextLength;
        var pixels = new float[(long)rows.Count * perImage];
        var tokens = new long[(long)rows.Count * context];
        var labels = new int[rows.Count];
        var keys = new string[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            decoder.Decode(row.Image.Span, pixels.AsSpan(i * perImage, perImage), row.Key);
            tokenizer.Encode(row.Caption, tokens.AsSpan(i * context, context));
            labels[i] = row.Label;
            keys[i] = row.Key;
        }
        var shape = new long[] { rows.Count, decoder.Channels, decoder.Size, decoder.Size };
        return new ClipBatch(pixels, shape, tokens, context) { Labels = labels, Keys = keys };
    }
}
