namespace MmCluster.Worker.Training;

/// <summary>Per-step wall times of a <see cref="StepBenchmark"/> run, in milliseconds, in the order measured.</summary>
public sealed record StepBenchmarkResult(int BatchSize, long ParameterCount, IReadOnlyList<double> StepMilliseconds, float LastLoss)
{
    public double MedianMilliseconds
    {
        get
        {
            var sorted = StepMilliseconds.Order().ToArray();
            var mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    public double SamplesPerSecond => BatchSize * 1000.0 / MedianMilliseconds;
}
