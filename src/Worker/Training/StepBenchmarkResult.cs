namespace MmCluster.Worker.Training;

/// <summary>Per-step wall times of a <see cref="StepBenchmark"/> run, in milliseconds, in the order measured.</summary>
public sealed record StepBenchmarkResult(int BatchSize, long ParameterCount, IReadOnlyList<double> StepMilliseconds, float LastLoss)
{
    /// <summary>
    /// Per-step CPU time of the whole process (all threads). On a shared machine, wall time includes waiting for a core;
    /// with one intra-op thread the CPU time is close to what the step takes on an idle core.
    /// </summary>
    public IReadOnlyList<double> CpuMilliseconds { get; init; } = [];

    public double MedianMilliseconds => Median(StepMilliseconds);

    public double MedianCpuMilliseconds => CpuMilliseconds.Count == 0 ? double.NaN : Median(CpuMilliseconds);

    public double SamplesPerSecond => BatchSize * 1000.0 / MedianMilliseconds;

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
