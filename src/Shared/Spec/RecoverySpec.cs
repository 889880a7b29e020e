namespace MmCluster.Shared.Spec;

/// <summary>
/// How a run survives lost workers (the spec's <c>recovery</c> section; docs/fault-tolerance.md). Absent: recovery is
/// off and a lost worker fails the run.
/// </summary>
public sealed record RecoverySpec
{
    public bool Enabled { get; init; } = true;

    /// <summary>The fewest workers a generation may train with (elastic shrink); null: the world size (no shrink).</summary>
    public int? MinWorkers { get; init; }

    /// <summary>How long a recovery waits for a replacement before it goes on with fewer workers.</summary>
    public TimeSpan ReplacementWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Recoveries allowed within <see cref="Window"/>; one more fails the run.</summary>
    public int MaxRestarts { get; init; } = 10;

    public TimeSpan Window { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long a collective waits for a peer before the generation is given up on.</summary>
    public TimeSpan CollectiveDeadline { get; init; } = TimeSpan.FromSeconds(25);

    /// <summary>How long a worker waits for an unreachable coordinator before it gives up.</summary>
    public TimeSpan CoordinatorWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>"15s", "2m", "1h", "500ms" or a number of seconds; null when the text is none of these.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, seconds) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n))
            {
                return TimeSpan.FromSeconds(n * seconds);
            }
        }
        return double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var plain)
            ? TimeSpan.FromSeconds(plain)
            : null;
    }
}
