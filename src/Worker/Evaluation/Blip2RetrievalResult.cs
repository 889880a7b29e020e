namespace MmCluster.Worker.Evaluation;

/// <summary>
/// Stage 1's held-out evaluation (<see cref="Blip2Evaluator.Retrieval"/>): recall@1 both ways and ITM accuracy, over as
/// many positives (each image with its own caption) as negatives (with the caption of another class); the accuracy on each
/// half, and every decision's (image class, caption class) in <paramref name="ItmByClassPair"/>.
/// </summary>
public sealed record Blip2RetrievalResult(
    int Pairs, double ImageToTextRecallAt1, double TextToImageRecallAt1, double ItmAccuracy,
    double ItmPositiveAccuracy, double ItmNegativeAccuracy, IReadOnlyList<ItmClassPair> ItmByClassPair);
