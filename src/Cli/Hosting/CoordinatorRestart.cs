using MmCluster.Shared.Runs;

namespace MmCluster.Cli.Hosting;

/// <summary>
/// The one place that decides how <c>mmcluster dev</c> starts a coordinator again after it died mid-run. Today: the
/// first start's arguments with <c>--resume</c> when the run directory has a committed checkpoint (the coordinator then
/// restores the ledger saved with it and the workers reload its weights), else the same arguments (the run starts
/// over). When resume reads a persistent journal, this is what changes.
/// </summary>
internal static class CoordinatorRestart
{
    public const string ResumeFlag = "--resume";

    /// <summary>The arguments for the restarted coordinator and a few words on what it will do, for the console.</summary>
    public static (IReadOnlyList<string> Arguments, string Plan) Arguments(IReadOnlyList<string> firstStart, string runDirectory)
    {
        var arguments = firstStart.Where(a => a != ResumeFlag).ToList();
        var checkpoints = Path.Combine(runDirectory, "checkpoints");
        var latest = Directory.Exists(checkpoints)
            ? Directory.EnumerateDirectories(checkpoints).Select(LedgerSidecar.LatestCommitted).OfType<string>().Max(StringComparer.Ordinal)
            : null;
        if (latest is null && !firstStart.Contains(ResumeFlag))
        {
            return (arguments, "no committed checkpoint yet: the run starts over");
        }
        arguments.Add(ResumeFlag);
        return (arguments, $"{ResumeFlag}: from the latest committed checkpoint{(latest is null ? "" : $" ({Path.GetRelativePath(runDirectory, latest)} is the newest)")}");
    }
}
