namespace MmCluster.Worker.Training;

/// <summary>
/// Optimizer and schedule settings for <see cref="TrainStep"/>. Defaults: AdamW betas 0.9/0.999 and eps 1e-8 (PyTorch's,
/// and what every stage trained with before the run spec's betas were honoured; OpenCLIP's CLIP recipe uses 0.9/0.98 and
/// 1e-6, which a spec can ask for), clip norm 1.0, weight decay 0.05 as in the BLIP-2 configs.
/// </summary>
public sealed record TrainOptions
{
    public double LearningRate { get; init; } = 1e-3;
    public int WarmupSteps { get; init; }
    public int TotalSteps { get; init; } = 1000;
    public double MinLearningRate { get; init; }
    public double WeightDecay { get; init; } = 0.05;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Eps { get; init; } = 1e-8;

    /// <summary>Global L2 norm the gradients are clipped to; 0 or less: measured, not clipped.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>The forward's matrix-product type under autocast (<see cref="Model.MixedPrecision"/>); null: float32.</summary>
    public TorchSharp.torch.ScalarType? ComputeType { get; init; }

    public CosineWithWarmup Schedule => new(LearningRate, WarmupSteps, TotalSteps, MinLearningRate);
}
