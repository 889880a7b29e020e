namespace MmCluster.Worker.Evaluation;

/// <summary>A model's answer to a <see cref="ChatQuestion"/>, and whether it matches the expected one (<see cref="ChatEvaluator.Matches"/>).</summary>
public sealed record ChatAnswer(ChatQuestion Question, string Answer, bool Right);
