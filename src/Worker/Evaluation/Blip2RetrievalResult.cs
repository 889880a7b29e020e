namespace MmCluster.Worker.Evaluation;

/// <summary>Stage 1's held-out evaluation (<see cref="Blip2Evaluator.Retrieval"/>): recall@1 both ways and ITM accuracy.</summary>
public sealed record Blip2RetrievalResult(int Pairs, double ImageToTextRecallAt1, double TextToImageRecallAt1, double ItmAccuracy);
