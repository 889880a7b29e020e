namespace MmCluster.Coordinator.Web;

/// <summary>
/// The run directory's files the dashboard may list and stream, and nothing else: every file under <c>checkpoints/</c>
/// (kind checkpoint) and <c>logs/</c> (log), <c>metrics.jsonl</c> (metrics), <c>summary.json</c> (summary), and the
/// journals <c>coordinator.db</c> and <c>chaos.jsonl</c> (journal). Symbolic links (files or directories) are never
/// followed, so nothing outside the directory can be reached through one; a requested path is served only if it is in
/// the listing, which refuses <c>..</c>, absolute paths and anything else by construction.
/// </summary>
public sealed class RunFileCatalog(string? runDirectory)
{
    private static readonly (string Name, string Kind)[] TopFiles =
    [
        ("metrics.jsonl", "metrics"),
        ("summary.json", "summary"),
        ("coordinator.db", "journal"),
        ("chaos.jsonl", "journal"),
    ];

    private static readonly (string Name, string Kind)[] Folders = [("checkpoints", "checkpoint"), ("logs", "log")];

    /// <summary>Every listed file, in path order; empty without a run directory.</summary>
    public IReadOnlyList<RunFile> List()
    {
        if (runDirectory is null || !Directory.Exists(runDirectory))
        {
            return [];
        }
        var root = Path.GetFullPath(runDirectory);
        var files = new List<RunFile>();
        foreach (var (name, kind) in TopFiles)
        {
            var file = new FileInfo(Path.Combine(root, name));
            if (file.Exists && file.LinkTarget is null)
            {
                files.Add(new RunFile(name, file.Length, kind));
            }
        }
        var walk = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        foreach (var (name, kind) in Folders)
        {
            var folder = new DirectoryInfo(Path.Combine(root, name));
            if (!folder.Exists || folder.LinkTarget is not null)
            {
                continue;
            }
            foreach (var file in folder.EnumerateFiles("*", walk))
            {
                // A link's own attributes may not say ReparsePoint on every file system: check again.
                if (file.LinkTarget is null)
                {
                    files.Add(new RunFile(Path.GetRelativePath(root, file.FullName).Replace('\\', '/'), file.Length, kind));
                }
            }
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    /// <summary>The full path of the listed file <paramref name="path"/>, or null when it is not one (the caller answers 404).</summary>
    public string? Resolve(string? path)
    {
        if (runDirectory is null || string.IsNullOrEmpty(path) || Path.IsPathRooted(path) || path.Contains('\\')
            || path.Split('/').Any(segment => segment is "" or "." or ".."))
        {
            return null;
        }
        return List().Any(f => f.Path == path) ? Path.Combine(Path.GetFullPath(runDirectory), path) : null;
    }
}
