using System.Globalization;

namespace MmCluster.Cli.Chaos;

/// <summary>
/// One fault to inject into the dev cluster: <see cref="Kind"/> to <see cref="Target"/> (<c>worker-N</c> or
/// <c>coordinator</c>), fired either when the running stage first reaches <see cref="AtStep"/> (in
/// <see cref="InStage"/> when set) or <see cref="After"/> the dev cluster's workers were started.
/// </summary>
internal sealed record ChaosAction
{
    /// <summary>The target that names the coordinator process.</summary>
    public const string Coordinator = "coordinator";

    public required ChaosKind Kind { get; init; }

    public required string Target { get; init; }

    /// <summary>
    /// How long a <see cref="ChaosKind.Stop"/> keeps the target frozen; for a kill, how long the dev cluster waits before
    /// it restarts the target (a node that stays away, e.g. to watch the run shrink and grow back); null: a plain kill.
    /// </summary>
    public TimeSpan? StopFor { get; init; }

    /// <summary>Fires when a snapshot of the running run first shows the running stage's step at or past this.</summary>
    public long? AtStep { get; init; }

    /// <summary>With <see cref="AtStep"/>: only that stage's steps count (default: whichever stage is running).</summary>
    public string? InStage { get; init; }

    /// <summary>Fires this long after the workers were first started.</summary>
    public TimeSpan? After { get; init; }

    /// <summary>The clause as the plan says it (e.g. <c>kill worker-1 at step 120</c>), for the console and chaos.jsonl.</summary>
    public string Describe()
    {
        var verb = Kind == ChaosKind.Kill
            ? StopFor is { } down ? $"kill {Target} for {FormatDuration(down)}" : $"kill {Target}"
            : $"stop {Target} for {FormatDuration(StopFor ?? TimeSpan.Zero)}";
        var trigger = AtStep is { } step
            ? InStage is { } stage ? $"at step {step} in stage {stage}" : $"at step {step}"
            : $"after {FormatDuration(After ?? TimeSpan.Zero)}";
        return $"{verb} {trigger}";
    }

    /// <summary><c>30s</c>, <c>1.5s</c>, <c>250ms</c>: seconds unless the duration is under one.</summary>
    public static string FormatDuration(TimeSpan duration) =>
        duration < TimeSpan.FromSeconds(1) && duration > TimeSpan.Zero
            ? string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMilliseconds:0.###}ms")
            : string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.###}s");
}
