namespace MmCluster.Cli.Chaos;

/// <summary>What a chaos action does to its target process.</summary>
internal enum ChaosKind
{
    /// <summary>SIGKILL: the process dies at once, without leaving the cluster (a crash, an OOM kill).</summary>
    Kill,

    /// <summary>SIGSTOP, then SIGCONT after the action's duration: the process freezes (a GC pause, a hung host).</summary>
    Stop,
}
