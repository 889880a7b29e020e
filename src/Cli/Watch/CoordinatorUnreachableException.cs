namespace MmCluster.Cli.Watch;

/// <summary>The coordinator did not answer within the watch command's waiting time.</summary>
internal sealed class CoordinatorUnreachableException(string message) : Exception(message);
