namespace MmCluster.Worker.Runtime;

/// <summary>
/// A <see cref="CaptionBenchmark"/> run: images captioned, wall and process CPU seconds (all threads; on a shared machine
/// the wall time includes waiting for a core), and the captions' ids, so runs with and without the cache can be compared.
/// </summary>
public sealed record CaptionBenchmarkResult(int Images, double Seconds, double CpuSeconds, IReadOnlyList<long[]> Captions)
{
    public double ImagesPerSecond => Images / Seconds;

    public double ImagesPerCpuSecond => Images / CpuSeconds;

    public long Tokens => Captions.Sum(c => (long)c.Length);

    /// <summary>FNV-1a over every caption's ids and length: equal for equal captions.</summary>
    public string CaptionsHash
    {
        get
        {
            var hash = 14695981039346656037UL;
            foreach (var value in Captions.SelectMany(c => c.Prepend(-1 - c.Length)))
            {
                hash = (hash ^ (ulong)value) * 1099511628211UL;
            }
            return hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
