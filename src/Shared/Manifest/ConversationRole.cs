namespace MmCluster.Shared.Manifest;

/// <summary>Who speaks a turn of a <see cref="Conversation"/>: LLaVA's <c>human</c> and <c>gpt</c>.</summary>
public enum ConversationRole
{
    User,
    Assistant,
}
