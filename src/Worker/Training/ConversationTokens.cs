namespace MmCluster.Worker.Training;

/// <summary>
/// One conversation as language-model rows of <see cref="ConversationTemplate.ContextLength"/> GPT-2 ids: input
/// position t predicts <see cref="Labels"/>[t] (-100 where not supervised), as <c>CaptionTargets</c>. The image's tokens go
/// in before input position <see cref="ImagePosition"/> (the model splices them in; they are never supervised).
/// </summary>
public sealed record ConversationTokens(long[] Inputs, long[] Labels, int ImagePosition, int SupervisedTokens, ConversationOutcome Outcome)
{
    /// <summary>Input positions in use (the rest is padding); a batch needs no more than its longest row's.</summary>
    public int Length { get; init; } = Inputs.Length;

    /// <summary>The input positions that hold a question's words (not the template's "USER:" and " ASSISTANT:").</summary>
    public IReadOnlyList<int> QuestionPositions { get; init; } = [];

    /// <summary>True when the row contributes to the loss.</summary>
    public bool Trains => SupervisedTokens > 0;
}
