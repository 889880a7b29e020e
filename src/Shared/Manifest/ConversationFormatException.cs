namespace MmCluster.Shared.Manifest;

/// <summary>A conversation's JSON is not a list of alternating user and assistant turns; the message names the turn and field.</summary>
public sealed class ConversationFormatException(string message) : FormatException(message);
