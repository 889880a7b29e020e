namespace MmCluster.Worker.Demo;

/// <summary>What a <see cref="LocalClipTraining"/> run reached: training wall time excludes evaluations.</summary>
public sealed record LocalTrainingReport(int Steps, double TrainSeconds, float FinalLoss, double ZeroShotTop1,
    IReadOnlyList<(long Step, double Seconds, double Top1)> Evaluations);
