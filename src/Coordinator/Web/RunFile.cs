namespace MmCluster.Coordinator.Web;

/// <summary>One file of a run directory the dashboard links to: its path relative to the directory ('/'-separated), size and kind.</summary>
/// <param name="Kind">checkpoint | log | metrics | summary | journal.</param>
public sealed record RunFile(string Path, long Bytes, string Kind);
