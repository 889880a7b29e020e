namespace MmCluster.Worker.Training;

/// <summary>
/// One local batch on its way from the data pipeline to <see cref="TrainStep"/>: plain arrays, no tensors, so it can cross
/// threads and queues freely. Pixels are normalized floats in (B, C, H, W) order; tokens are (B, ContextLength) GPT-2 ids.
/// </summary>
public sealed record ClipBatch(float[] Pixels, long[] PixelShape, long[] Tokens, int ContextLength)
{
    /// <summary>Class labels when the source has them (evaluation, demo); empty otherwise.</summary>
    public int[] Labels { get; init; } = [];

    /// <summary>Manifest keys of the rows, in order (for the ledger and debugging).</summary>
    public string[] Keys { get; init; } = [];

    public int Count => (int)PixelShape[0];

    /// <summary>Throws naming the inconsistent field.</summary>
    public ClipBatch Validate()
    {
        if (PixelShape.Length != 4)
        {
            throw new ArgumentException($"ClipBatch.PixelShape must be (B, C, H, W), got [{string.Join(", ", PixelShape)}].");
        }
        var pixels = PixelShape.Aggregate(1L, (a, d) => a * d);
        if (pixels != Pixels.Length)
        {
            throw new ArgumentException($"ClipBatch.Pixels has {Pixels.Length} values but PixelShape [{string.Join(", ", PixelShape)}] needs {pixels}.");
        }
        if (Tokens.Length != (long)Count * ContextLength)
        {
            throw new ArgumentException($"ClipBatch.Tokens has {Tokens.Length} ids but {Count} rows x context {ContextLength} need {(long)Count * ContextLength}.");
        }
        return this;
    }
}
