using System.Diagnostics;
using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Throughput, step time, time in collectives and data wait since the last report; says when a report is due (~1 s).
/// </summary>
internal sealed class ProgressMeter(TimedCollectiveGroup group)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private long windowStart = Stopwatch.GetTimestamp();
    private TimeSpan collectiveAtStart = group.Elapsed;
    private int steps;
    private long samples;
    private double dataWaitMs;

    public bool Due => Stopwatch.GetElapsedTime(windowStart) >= Interval;

    public void Add(int batchSamples, double waitMs)
    {
        steps++;
        samples += batchSamples;
        dataWaitMs += waitMs;
    }

    /// <summary>A report with the window's figures (the caller adds the step's metrics); starts the next window.</summary>
    public ReportProgress Report(long step, int epoch, double loss)
    {
        var elapsed = Stopwatch.GetElapsedTime(windowStart);
        var collective = group.Elapsed - collectiveAtStart;
        var n = Math.Max(1, steps);
        var report = new ReportProgress
        {
            Step = step,
            Epoch = epoch,
            Loss = loss,
            SamplesPerSecond = samples / Math.Max(1e-9, elapsed.TotalSeconds),
            StepTimeMs = elapsed.TotalMilliseconds / n,
            CollectiveTimeMs = collective.TotalMilliseconds / n,
            DataWaitMs = steps == 0 ? 0 : dataWaitMs / steps,
        };
        windowStart = Stopwatch.GetTimestamp();
        collectiveAtStart = group.Elapsed;
        steps = 0;
        samples = 0;
        dataWaitMs = 0;
        return report;
    }
}
