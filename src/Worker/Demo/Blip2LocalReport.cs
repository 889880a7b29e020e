using MmCluster.Worker.Evaluation;

namespace MmCluster.Worker.Demo;

/// <summary>What a <see cref="Blip2LocalPipeline"/> run reached: per stage, steps, training seconds and final losses; the evaluations.</summary>
public sealed record Blip2LocalReport(
    IReadOnlyList<Blip2LocalReport.Stage> Stages, Blip2RetrievalResult Retrieval, Blip2CaptionResult Captions, IReadOnlyList<string> BeamSamples)
{
    public sealed record Stage(string Name, int Steps, double TrainSeconds, IReadOnlyDictionary<string, float> FinalLosses);
}
