namespace MmCluster.Worker.Demo;

/// <summary>Settings of a <see cref="LocalClipTraining"/> run; the defaults are the ones chosen for the demo.</summary>
public sealed record LocalTrainingSettings
{
    public string DataDirectory { get; init; } = FashionMnist.DefaultDirectory;
    public string Preset { get; init; } = "clip-mini";
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 1e-3;
    public int WarmupSteps { get; init; } = 50;
    public int Steps { get; init; } = 1000;
    public double WeightDecay { get; init; } = 0.05;
    public int Threads { get; init; } = 1;
    public int Seed { get; init; } = 1;
    public int LogEvery { get; init; } = 50;

    /// <summary>Zero-shot evaluation every this many steps (0: only at the end); not counted in the training time.</summary>
    public int EvalEvery { get; init; }
}
