namespace MmCluster.Coordinator.Actors;

/// <summary>
/// How a run survives losing workers (the run spec's <c>recovery</c> section; docs/fault-tolerance.md). Disabled: a lost
/// worker fails the run, as before.
/// </summary>
/// <param name="Enabled">Whether a lost worker starts a recovery instead of failing the run.</param>
/// <param name="MinWorkers">The fewest workers a generation may have (elastic shrink down to this).</param>
/// <param name="ReplacementWait">How long a recovery waits for a replacement before it goes on with fewer workers; also
/// how long a run waits for the full world size once <paramref name="MinWorkers"/> registered.</param>
/// <param name="MaxRestarts">Recoveries allowed within <paramref name="Window"/>; one more fails the run.</param>
/// <param name="Window">The window <paramref name="MaxRestarts"/> counts in.</param>
/// <param name="AbortTimeout">How long survivors have to confirm an abort before they are counted as lost too.</param>
public sealed record RecoverySettings(
    bool Enabled,
    int MinWorkers,
    TimeSpan ReplacementWait,
    int MaxRestarts,
    TimeSpan Window,
    TimeSpan AbortTimeout)
{
    /// <summary>
    /// How long workers that lose this coordinator wait in-process for a restarted one before they exit (sent in every
    /// StartGeneration); zero: they exit at once.
    /// </summary>
    public TimeSpan CoordinatorWait { get; init; }

    public static readonly RecoverySettings Disabled = new(false, 1, TimeSpan.Zero, 0, TimeSpan.FromHours(1), TimeSpan.FromSeconds(30));
}
