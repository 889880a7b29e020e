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

    /// <summary>
    /// Conversation rows (<see cref="ConversationTemplate"/>): per row and input position the next-token target, -100
    /// where not supervised; <see cref="Tokens"/> are then the inputs. Null for caption rows.
    /// </summary>
    public long[]? Targets { get; init; }

    /// <summary>Conversation rows: the input position the image's tokens go in before.</summary>
    public int ImagePosition { get; init; }

    /// <summary>
    /// Conversation rows for a model that reads the instruction (InstructBLIP): per row the question's ids, its
    /// end-of-text and padding, <see cref="InstructionLength"/> per row. Null otherwise.
    /// </summary>
    public long[]? Instructions { get; init; }

    public int InstructionLength { get; init; }

    /// <summary>Conversation rows: how many rows had each <see cref="ConversationOutcome"/> (indexed by its value).</summary>
    public int[] Outcomes { get; init; } = [];

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
        if (Targets is not null && Targets.Length != Tokens.Length)
        {
            throw new ArgumentException($"ClipBatch.Targets has {Targets.Length} ids but Tokens has {Tokens.Length}.");
        }
        return this;
    }
}
