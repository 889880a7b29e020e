using System.Diagnostics;
using MmCluster.Worker.Actors;

namespace MmCluster.Worker.Runtime;

/// <summary>Throughput, step time and time in collectives since the last report; says when a report is due (~1 s).</summary>
internal sealed class ProgressMeter(TimedCollectiveGroup group)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private long windowStart = Stopwatch.GetTimestamp();
    private TimeSpan collectiveAtStart = group.Elapsed;
    private int steps;
    private long samples;
    private double dataWaitMs;

    public bool Due => Stopwatch.GetElapsedTime(windowStart) >= Interval;

    public double DataWaitMs => steps == 0 ? 0 : dataWaitMs / steps;

    public void Add(int batchSamples, double waitMs)
    {
        steps++;
        samples += batchSamples;
        dataWaitMs += waitMs;
    }

    public ProgressReport Report(long step, int epoch, double loss, IReadOnlyDictionary<string, double> metrics)
    {
        var elapsed = Stopwatch.GetElapsedTime(windowStart);
        var collective = group.Elapsed - collectiveAtStart;
        var n = Math.Max(1, steps);
        var report = new ProgressReport(step, epoch, loss, samples / Math.Max(1e-9, elapsed.TotalSeconds),
            elapsed.TotalMilliseconds / n, collective.TotalMilliseconds / n, metrics);
        windowStart = Stopwatch.GetTimestamp();
        collectiveAtStart = group.Elapsed;
        steps = 0;
        samples = 0;
        dataWaitMs = 0;
        return report;
    }
}
