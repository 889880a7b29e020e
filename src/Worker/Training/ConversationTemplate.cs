using MmCluster.Shared.Manifest;

namespace MmCluster.Worker.Training;

/// <summary>
/// LLaVA's conversation template (conv_vicuna_v1: a system line, then <c>USER: ... ASSISTANT: answer&lt;/s&gt;</c> per
/// exchange) over GPT-2 ids, and its loss mask (LLaVA's preprocess_v1): the system text, every user turn and the
/// <c>ASSISTANT:</c> prefixes are not supervised; each answer and the end-of-text after it are. &lt;|endoftext|&gt; is both
/// BOS and the end of an answer (CaptionLm's convention). The image goes where the first turn's <c>&lt;image&gt;</c> stands:
/// <code>
/// [BOS] A chat about an image. USER: [image tokens] What is the item? ASSISTANT: a sneaker[EOT]USER: Is it a bag? ASSISTANT: no[EOT]
/// </code>
/// One difference from LLaVA: the first question follows the image after a space, not a newline, because GPT-2's BPE
/// gives a word after a newline another id than after a space, and a small language model would learn each question's
/// first word twice (and meet an unseen id when a question it saw later in a conversation is asked first).
/// The text before the image is the same for every conversation, so <see cref="ImagePosition"/> is a constant of the
/// template. Each exchange is tokenized whole and its instruction alone; when the whole does not start with the
/// instruction's tokens the mask cannot be placed, and the conversation gets no loss (<see cref="ConversationOutcome.Unaligned"/>),
/// as LLaVA masks a sample whose lengths disagree. Exchanges that do not fit the context are left out whole.
/// </summary>
public sealed class ConversationTemplate
{
    public const string DefaultSystem = "A chat about an image.";

    /// <summary>The instruction of LLaVA's stage-1 (alignment) samples: a caption becomes the answer to it.</summary>
    public const string DescribeInstruction = "Describe the image briefly.";

    private const string User = "USER:";
    private const string Assistant = " ASSISTANT:";

    private readonly long[] head;
    private readonly int userTokens;
    private readonly int assistantTokens;
    private readonly Func<string, long[]> encode;

    public ConversationTemplate(int contextLength, string system = DefaultSystem)
        : this(contextLength, system, Gpt2)
    {
    }

    /// <param name="encode">The tokenizer (GPT-2 BPE in use; specs give others to reach the unaligned case).</param>
    internal ConversationTemplate(int contextLength, string system, Func<string, long[]> encode)
    {
        System = system;
        this.encode = encode;
        head = [CaptionTokenizer.EndOfText, .. encode($"{system} {User}")];
        userTokens = encode(User).Length;
        assistantTokens = encode(Assistant).Length;
        if (contextLength <= head.Length + 2)
        {
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, $"the context must hold more than the template's {head.Length} leading tokens and an answer");
        }
        ContextLength = contextLength;
    }

    public int ContextLength { get; }

    public string System { get; }

    /// <summary>Input positions before the image: BOS, the system line and <c>USER:</c>.</summary>
    public int ImagePosition => head.Length;

    /// <summary>The conversation as text, the image as <c>&lt;image&gt;</c> and end-of-text as <c>&lt;/s&gt;</c> (for logs and docs).</summary>
    public string Render(Conversation conversation) =>
        $"{System} {User} {Conversation.ImagePlaceholder}" + string.Concat(conversation.Exchanges.Select((e, i) => $"{(i == 0 ? " " : User + " ")}{e.Question}{Assistant} {e.Answer}</s>"));

    /// <summary>A caption as LLaVA's alignment sample: the describe instruction, the caption its answer.</summary>
    public ConversationTokens EncodeCaption(string caption) => Encode(Conversation.Single(DescribeInstruction, caption));

    public ConversationTokens Encode(Conversation conversation)
    {
        var sequence = new List<long>(head);
        var supervised = new List<bool>(head.Select(_ => false));
        var outcome = ConversationOutcome.Whole;
        var questionPositions = new List<int>();
        var exchanges = conversation.Exchanges;
        for (var i = 0; i < exchanges.Count; i++)
        {
            var (question, answer, _) = exchanges[i];
            var instruction = $"{(i == 0 ? " " : User + " ")}{question}{Assistant}";
            var prompt = encode(instruction);
            var whole = encode($"{instruction} {answer}");
            if (whole.Length <= prompt.Length || !whole.AsSpan(0, prompt.Length).SequenceEqual(prompt))
            {
                return Empty(ConversationOutcome.Unaligned);
            }
            // The sequence is inputs plus one (the last label): an exchange fits when its end-of-text does.
            if (sequence.Count + whole.Length + 1 > ContextLength + 1)
            {
                outcome = i == 0 ? ConversationOutcome.TooLong : ConversationOutcome.Truncated;
                break;
            }
            // The question's own tokens: after "USER:" (a later exchange's) and before " ASSISTANT:".
            var questionStart = sequence.Count + (i == 0 ? 0 : userTokens);
            var questionEnd = sequence.Count + prompt.Length - assistantTokens;
            for (var t = questionStart; t < questionEnd; t++)
            {
                questionPositions.Add(t);
            }
            sequence.AddRange(whole);
            sequence.Add(CaptionTokenizer.EndOfText);
            supervised.AddRange(whole.Select((_, j) => j >= prompt.Length));
            supervised.Add(true);
        }
        if (outcome == ConversationOutcome.TooLong)
        {
            return Empty(outcome);
        }
        var inputs = new long[ContextLength];
        var labels = new long[ContextLength];
        Array.Fill(labels, IgnoreIndex);
        var count = 0;
        for (var t = 0; t + 1 < sequence.Count; t++)
        {
            inputs[t] = sequence[t];
            if (supervised[t + 1])
            {
                labels[t] = sequence[t + 1];
                count++;
            }
        }
        return new ConversationTokens(inputs, labels, ImagePosition, count, outcome) { Length = sequence.Count - 1, QuestionPositions = [.. questionPositions] };
    }

    /// <summary>
    /// The prompt of a first question, for generation: BOS, system, <c>USER:</c>, (image), the question and
    /// <c>ASSISTANT:</c>; the answer follows. Throws when it leaves no room for an answer.
    /// </summary>
    public long[] Prompt(string question)
    {
        long[] prompt = [.. head, .. encode($" {question.Replace(Conversation.ImagePlaceholder, "", StringComparison.Ordinal).Trim()}{Assistant}")];
        return prompt.Length < ContextLength
            ? prompt
            : throw new ArgumentException($"the question takes {prompt.Length} of the context's {ContextLength} tokens and leaves no room for an answer", nameof(question));
    }

    /// <summary>The answer's text from generated GPT-2 ids (up to the first end-of-text), trimmed.</summary>
    public static string Answer(IEnumerable<long> generated) =>
        CaptionTokenizer.DecodeText(generated.TakeWhile(id => id != CaptionTokenizer.EndOfText)).Trim();

    private const long IgnoreIndex = -100;

    private ConversationTokens Empty(ConversationOutcome outcome)
    {
        var labels = new long[ContextLength];
        Array.Fill(labels, IgnoreIndex);
        var inputs = new long[ContextLength];
        head.CopyTo(inputs, 0);
        return new ConversationTokens(inputs, labels, ImagePosition, 0, outcome) { Length = head.Length };
    }

    private static long[] Gpt2(string text) => [.. CaptionTokenizer.EncodeText(text).Select(id => (long)id)];
}
