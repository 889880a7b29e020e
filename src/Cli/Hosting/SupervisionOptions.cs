namespace MmCluster.Cli.Hosting;

/// <summary>How <see cref="SupervisedProcess"/> restarts a child: after <see cref="Delay"/>, at most <see cref="MaxRestarts"/> times.</summary>
internal sealed record SupervisionOptions(int MaxRestarts, TimeSpan Delay)
{
    /// <summary>The flag that sets <see cref="MaxRestarts"/>, named when the limit is reached.</summary>
    public string MaxRestartsOption { get; init; } = "--max-worker-restarts";
}
