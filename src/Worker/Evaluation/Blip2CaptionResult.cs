namespace MmCluster.Worker.Evaluation;

/// <summary>Stage 2's held-out evaluation (<see cref="Blip2Evaluator.Captions"/>): the rate of captions naming the right class, and the captions.</summary>
public sealed record Blip2CaptionResult(int Images, double NamesRightClassRate, IReadOnlyList<string> Captions);
