using MmCluster.Shared.Manifest;

namespace MmCluster.Cli.Commands;

/// <summary>How <c>manifest inspect --verify</c> reports what it found: counts, the first offenders, and a verdict line.</summary>
internal static class ManifestVerificationText
{
    public static void Print(ManifestVerification verification, TextWriter output)
    {
        var stats = verification.Stats;
        var reasons = stats.SkippedByReason.Where(kv => kv.Key != RowSkipReason.DuplicateKey).Select(kv => $"{kv.Value:N0} {kv.Key}");
        output.WriteLine($"verify     {stats.RowsYielded + stats.Skipped:N0} rows read: {stats.RowsYielded:N0} pass, "
            + $"{verification.SkippedRows:N0} skipped ({string.Join(", ", reasons.DefaultIfEmpty("none"))}), {stats.CaptionsTruncated:N0} captions cut, "
            + $"{stats.RowsWithConversation:N0} with a conversation");
        foreach (var skip in verification.FirstSkips)
        {
            output.WriteLine($"  {skip}");
        }
        var withinFiles = stats.SkippedFor(RowSkipReason.DuplicateKey);
        output.WriteLine($"duplicates {verification.DuplicateKeys:N0} rows repeat a key ({withinFiles:N0} within a file, {verification.DuplicateKeys - withinFiles:N0} across files)");
        foreach (var duplicate in verification.FirstDuplicates)
        {
            output.WriteLine($"  {duplicate}");
        }
        output.WriteLine($"refused    {verification.RefusedFiles.Count:N0} files");
        foreach (var (_, message) in verification.RefusedFiles)
        {
            output.WriteLine($"  {message}");
        }
    }

    /// <summary>The last line: why a run would stop (an error), what it would skip (a warning), or that every row passes.</summary>
    public static string Verdict(ManifestVerification verification, DuplicateKeyPolicy policy)
    {
        if (verification.RunRefuses(policy))
        {
            var why = new List<string>();
            if (verification.RefusedFiles.Count > 0)
            {
                why.Add($"{verification.RefusedFiles.Count} files stop it ({verification.RefusedFiles[0].Message})");
            }
            if (policy == DuplicateKeyPolicy.Refuse && verification.DuplicateKeys > 0)
            {
                why.Add($"{verification.DuplicateKeys} rows repeat a key (first: {verification.FirstDuplicates[0]}; manifest.duplicate_keys: refuse)");
            }
            return "error: a run refuses this manifest: " + string.Join("; ", why);
        }
        var skipped = verification.SkippedRows + (policy == DuplicateKeyPolicy.Skip ? verification.DuplicateKeys : 0);
        return skipped > 0
            ? $"warning: {skipped:N0} rows would be skipped and counted ({verification.DuplicateKeys:N0} of them for a repeated key); a run trains on the rest"
            : "ok: every row passes the checks a run makes";
    }
}
