namespace MmCluster.Worker.Training;

/// <summary>How a conversation fared in <see cref="ConversationTemplate.Encode"/>; anything but <see cref="Whole"/> is counted.</summary>
public enum ConversationOutcome
{
    /// <summary>Every exchange fits the context and its answer is supervised.</summary>
    Whole,

    /// <summary>Later exchanges did not fit the context and were left out; the first ones are supervised.</summary>
    Truncated,

    /// <summary>Not even the first answer fits the context: no loss.</summary>
    TooLong,

    /// <summary>An exchange's tokens do not start with its instruction's tokens, so the mask cannot be placed: no loss.</summary>
    Unaligned,
}
