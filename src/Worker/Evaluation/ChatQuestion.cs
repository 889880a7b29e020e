namespace MmCluster.Worker.Evaluation;

/// <summary>One held-out question about image <paramref name="Image"/> (an index into the evaluated images) and its expected answer.</summary>
public sealed record ChatQuestion(int Image, string Question, string Expected, string? Kind);
