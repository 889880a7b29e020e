namespace MmCluster.Shared.Runs;

/// <summary>
/// A checkpoint's committed ledger (protobuf LedgerSnapshot) lives beside its weights as <c>step-N.ledger.pb</c>,
/// written after the coordinator recorded the commit: a checkpoint without it never committed and is not resumed from.
/// </summary>
public static class LedgerSidecar
{
    public static string PathFor(string checkpointPath) => Path.ChangeExtension(checkpointPath, ".ledger.pb");

    /// <summary>The latest committed checkpoint (weights and ledger both present) under a folder, or null.</summary>
    public static string? LatestCommitted(string directory) =>
        Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "step-*.safetensors")
                .Where(p => File.Exists(PathFor(p)))
                .Order(StringComparer.Ordinal)
                .LastOrDefault()
            : null;
}
