namespace MmCluster.Cli.Hosting;

/// <summary>How <see cref="SupervisedProcess"/> restarts a child: after <see cref="Delay"/>, at most <see cref="MaxRestarts"/> times.</summary>
internal sealed record SupervisionOptions(int MaxRestarts, TimeSpan Delay)
{
    /// <summary>The flag that sets <see cref="MaxRestarts"/>, named when the limit is reached.</summary>
    public string MaxRestartsOption { get; init; } = "--max-worker-restarts";

    /// <summary>Given a non-zero exit code: why the child is not restarted (e.g. a Job's podFailurePolicy), or null to restart it.</summary>
    public Func<int, string?>? RefuseRestart { get; init; }
}
