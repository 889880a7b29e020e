namespace MmCluster.Shared.Manifest;

/// <summary>
/// One turn of a <see cref="Conversation"/>. <paramref name="Kind"/> is an optional question type on a user turn
/// (<c>category</c>, <c>yes-no</c>, <c>choice</c>, ...), which evaluation reports accuracy by; LLaVA's files have none.
/// </summary>
public sealed record ConversationTurn(ConversationRole Role, string Text, string? Kind = null);
