namespace MmCluster.Cli.Bench;

/// <summary>Request-to-lease times of every simulated worker (thread-safe; the workers run on the dispatcher's threads).</summary>
internal sealed class LeaseLatencies
{
    private readonly List<double> milliseconds = [];
    private volatile bool recording;

    /// <summary>Leases before <see cref="Start"/> (the rush right after the rendezvous) are warm-up and not kept.</summary>
    public void Start() => recording = true;

    public void Add(TimeSpan latency)
    {
        if (!recording)
        {
            return;
        }
        lock (milliseconds)
        {
            milliseconds.Add(latency.TotalMilliseconds);
        }
    }

    /// <summary>Count, p50, p99 and max in milliseconds.</summary>
    public (int Count, double P50, double P99, double Max) Summary()
    {
        double[] sorted;
        lock (milliseconds)
        {
            sorted = [.. milliseconds];
        }
        Array.Sort(sorted);
        return sorted.Length == 0 ? (0, double.NaN, double.NaN, double.NaN) : (sorted.Length, Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted[^1]);
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}
