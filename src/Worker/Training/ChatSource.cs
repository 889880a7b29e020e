namespace MmCluster.Worker.Training;

/// <summary>What a chat stage's rows say, through the <see cref="ConversationTemplate"/>.</summary>
public enum ChatSource
{
    /// <summary>The caption, as the answer to the describe instruction (LLaVA's alignment data).</summary>
    Captions,

    /// <summary>The row's conversation; a row without one says its caption as a describe exchange.</summary>
    Conversations,

    /// <summary>
    /// One exchange of the row's conversation, the same for the row every time (picked by its key): InstructBLIP's
    /// single-turn instructions; a row without one says its caption as a describe exchange.
    /// </summary>
    OneExchange,

    /// <summary>
    /// The row's caption as a describe exchange, then its conversation (text-only training of the language model). The
    /// description comes first so the model learns to answer from what the chat says the image shows ("a photo of a
    /// sneaker" before "Is this something you wear on your feet?" -> "yes"): the knowledge a pretrained LLM brings and
    /// the recipes whose language model stays frozen (instructblip, plora) need, since their image tokens can only tell
    /// it what the image shows.
    /// </summary>
    CaptionThenConversation,
}
