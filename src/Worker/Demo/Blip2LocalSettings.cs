namespace MmCluster.Worker.Demo;

/// <summary>Settings of a <see cref="Blip2LocalPipeline"/> run (clip -> lm -> blip2-stage1 -> blip2-stage2); the defaults are the demo's.</summary>
public sealed record Blip2LocalSettings
{
    public string DataDirectory { get; init; } = FashionMnist.DefaultDirectory;
    public string OutputDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "blip2-local");
    public string ClipPreset { get; init; } = "clip-mini";
    public string LmPreset { get; init; } = "lm-tiny";
    public string QFormerPreset { get; init; } = "blip2-tiny";
    public int ClipSteps { get; init; } = 600;
    public int LmSteps { get; init; } = 200;
    public int Stage1Steps { get; init; } = 300;
    public int Stage2Steps { get; init; } = 300;
    public int BatchSize { get; init; } = 128;
    public double ClipLearningRate { get; init; } = 1e-3;
    public double LmLearningRate { get; init; } = 1e-3;
    public double Stage1LearningRate { get; init; } = 5e-4;
    public double Stage2LearningRate { get; init; } = 5e-4;
    public int WarmupSteps { get; init; } = 50;
    public int Threads { get; init; } = 1;
    public int Seed { get; init; } = 1;
    public int LogEvery { get; init; } = 50;

    /// <summary>Stages whose checkpoint already exists in <see cref="OutputDirectory"/> are loaded, not trained (for tuning a later stage).</summary>
    public bool ReuseCheckpoints { get; init; }

    /// <summary>Held-out pairs for stage 1's retrieval and ITM accuracy.</summary>
    public int RetrievalPairs { get; init; } = 1000;

    /// <summary>Test images captioned in stage 2's evaluation (10,000: the whole test split).</summary>
    public int CaptionImages { get; init; } = 10_000;
}
