using MmCluster.Shared.Manifest;
using MmCluster.Worker.Training.Photos;

namespace MmCluster.Worker.Training;

/// <summary>
/// Turns manifest rows into a <see cref="ClipBatch"/>: decodes each image into its slot of the pixel buffer and tokenizes
/// each caption into its row of the id buffer. With a <see cref="ConversationTemplate"/> the rows are conversations
/// instead (<see cref="ChatSource"/>): inputs, next-token targets and the image position. Pure CPU work, safe to run on a
/// producer thread.
/// </summary>
/// <param name="instructions">With conversation rows, a tokenizer for each row's first question as the instruction a
/// model reads beside the image (InstructBLIP's Q-Former); null for none.</param>
/// <param name="noise">With conversation rows, token noise on the questions (training batches only); null for none.</param>
/// <param name="cropSeed">The run's seed when the training rows of an RGB model, caption or conversation rows, get
/// OpenCLIP's training random-resized-crop (each row's crop drawn from this seed, its epoch and its key); null for the
/// evaluation centre crop. Grey images (Fashion-MNIST) are not cropped.</param>
/// <param name="randomShift">With <paramref name="cropSeed"/> (training caption rows), each image moved by up to this many
/// pixels each way (<see cref="ImageShift"/>); 0: not moved.</param>
public sealed class BatchBuilder(ImageDecoder decoder, ITextRowTokenizer tokenizer, ConversationTemplate? chat = null, ChatSource source = ChatSource.Captions,
    CaptionTokenizer? instructions = null, QuestionNoise? noise = null, ulong? cropSeed = null, int randomShift = 0)
{
    private readonly IReadOnlyList<float> black = decoder.Black;

    public ImageDecoder Decoder => decoder;

    public ITextRowTokenizer Tokenizer => tokenizer;

    /// <summary>The template of conversation rows; null for caption rows.</summary>
    public ConversationTemplate? Chat => chat;

    /// <summary>One row's conversation as this builder's <see cref="ChatSource"/> says it.</summary>
    public static Conversation ConversationOf(CaptionedImage row, ChatSource source) => source switch
    {
        ChatSource.Captions => Conversation.Single(ConversationTemplate.DescribeInstruction, row.Caption),
        ChatSource.Conversations => row.Conversation ?? Conversation.Single(ConversationTemplate.DescribeInstruction, row.Caption),
        ChatSource.OneExchange => row.Conversation is { } one ? Pick(one, row.Key) : Conversation.Single(ConversationTemplate.DescribeInstruction, row.Caption),
        _ => row.Conversation is { } c
            ? new Conversation([.. c.Turns, new ConversationTurn(ConversationRole.User, ConversationTemplate.DescribeInstruction), new ConversationTurn(ConversationRole.Assistant, row.Caption)])
            : Conversation.Single(ConversationTemplate.DescribeInstruction, row.Caption),
    };

    /// <param name="decoders">Threads to decode the rows' images on (each into its own slot, so the batch is the same
    /// as without); null: this thread decodes them one by one.</param>
    public ClipBatch Build(IReadOnlyList<CaptionedImage> rows, DecodePool? decoders = null)
    {
        if (rows.Count == 0)
        {
            throw new ArgumentException("cannot build a batch from zero rows", nameof(rows));
        }
        if (chat is not null)
        {
            return BuildChat(rows, chat, decoders);
        }
        var context = tokenizer.ContextLength;
        var pixels = DecodeImages(rows, cropSeed, decoders);
        var tokens = new long[(long)rows.Count * context];
        var labels = new int[rows.Count];
        var keys = new string[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            tokenizer.Encode(row.Caption, tokens.AsSpan(i * context, context));
            labels[i] = row.Label;
            keys[i] = row.Key;
        }
        var shape = new long[] { rows.Count, decoder.Channels, decoder.Size, decoder.Size };
        return new ClipBatch(pixels, shape, tokens, context) { Labels = labels, Keys = keys };
    }

    /// <summary>
    /// Every row's image into its slot of one (rows, C, S, S) buffer: the centre crop, or with <paramref name="seed"/> the
    /// training crop of (seed, the row's epoch, its key), so a row's pixels depend on nothing but the row.
    /// </summary>
    private float[] DecodeImages(IReadOnlyList<CaptionedImage> rows, ulong? seed, DecodePool? decoders)
    {
        var perImage = decoder.ValuesPerImage;
        var pixels = new float[(long)rows.Count * perImage];
        void One(int i)
        {
            var row = rows[i];
            var crop = seed is { } s ? PhotoCrop.Training(PhotoTransform.SampleSeed(s, row.Epoch, row.Key)) : PhotoCrop.Center;
            var slot = pixels.AsSpan(i * perImage, perImage);
            decoder.Decode(row.Image.Span, slot, row.Key, crop);
            if (seed is { } shiftSeed && randomShift > 0)
            {
                var (dx, dy) = ImageShift.Draw(shiftSeed, row.Epoch, row.Key, randomShift);
                ImageShift.Apply(slot, decoder.Channels, decoder.Size, dx, dy, black);
            }
        }
        if (decoders is null)
        {
            for (var i = 0; i < rows.Count; i++)
            {
                One(i);
            }
        }
        else
        {
            decoders.Run(rows.Count, One);
        }
        return pixels;
    }

    /// <summary>The exchange of <paramref name="conversation"/> a row keyed <paramref name="key"/> always trains on (FNV-1a of the key).</summary>
    private static Conversation Pick(Conversation conversation, string key)
    {
        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 16777619u;
        }
        var (question, answer, kind) = conversation.Exchanges[(int)(hash % (uint)conversation.Exchanges.Count)];
        return Conversation.Single(question, answer, kind);
    }

    /// <summary>Instruction rows with the builder's question noise, if it has one that applies to them.</summary>
    private long[] Noisy(long[] instructionRows, int context, string[] keys) =>
        noise is null ? instructionRows : noise.ApplyToInstructions(instructionRows, context, keys);

    /// <summary>Each conversation's first question as instruction rows (<see cref="ClipBatch.Instructions"/>).</summary>
    public static long[] InstructionRows(IEnumerable<Conversation> conversations, CaptionTokenizer tokenizer) =>
        InstructionRows(conversations.Select(c => c.Exchanges[0].Question), tokenizer);

    /// <summary>
    /// Questions as instruction rows: each after a space, as the template writes them (so a question's words have the ids
    /// the vocabulary holds), then its end-of-text and padding.
    /// </summary>
    public static long[] InstructionRows(IEnumerable<string> questions, CaptionTokenizer tokenizer) =>
        tokenizer.EncodeBatch([.. questions.Select(q => " " + q)]);

    private ClipBatch BuildChat(IReadOnlyList<CaptionedImage> rows, ConversationTemplate template, DecodePool? decoders)
    {
        var pixels = DecodeImages(rows, cropSeed, decoders);
        var encoded = new ConversationTokens[rows.Count];
        var conversations = new Conversation[rows.Count];
        var outcomes = new int[Enum.GetValues<ConversationOutcome>().Length];
        for (var i = 0; i < rows.Count; i++)
        {
            conversations[i] = ConversationOf(rows[i], source);
            encoded[i] = template.Encode(conversations[i]);
            outcomes[(int)encoded[i].Outcome]++;
        }
        string[] keys = [.. rows.Select(r => r.Key)];
        var (inputs, targets, context) = Pack(noise is null ? encoded : noise.Apply(encoded, keys));
        var shape = new long[] { rows.Count, decoder.Channels, decoder.Size, decoder.Size };
        return new ClipBatch(pixels, shape, inputs, context)
        {
            Labels = [.. rows.Select(r => r.Label)],
            Keys = keys,
            Targets = targets,
            ImagePosition = template.ImagePosition,
            Outcomes = outcomes,
            Instructions = instructions is null ? null : Noisy(InstructionRows(conversations, instructions), instructions.ContextLength, keys),
            InstructionLength = instructions?.ContextLength ?? 0,
        };
    }

    /// <summary>
    /// Conversation rows cut to the longest one's length (dynamic padding, as LLaVA's collator pads to the batch's
    /// longest): no position of the model's context is computed that no row uses.
    /// </summary>
    public static (long[] Inputs, long[] Targets, int Context) Pack(IReadOnlyList<ConversationTokens> rows)
    {
        var context = rows.Max(r => r.Length);
        var inputs = new long[(long)rows.Count * context];
        var targets = new long[(long)rows.Count * context];
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i].Inputs.AsSpan(0, context).CopyTo(inputs.AsSpan(i * context, context));
            rows[i].Labels.AsSpan(0, context).CopyTo(targets.AsSpan(i * context, context));
        }
        return (inputs, targets, context);
    }
}
