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

    /// <summary>The row's conversation, then its caption as a describe exchange (text-only training of the language model).</summary>
    ConversationsAndCaptions,
}
