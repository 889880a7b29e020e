namespace MmCluster.Worker.Evaluation;

/// <summary>Recall@k both ways, keyed by k: the fraction of queries whose pair ranks in the top k.</summary>
public sealed record RetrievalResult(IReadOnlyDictionary<int, double> ImageToText, IReadOnlyDictionary<int, double> TextToImage);
