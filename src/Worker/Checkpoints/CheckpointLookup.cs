namespace MmCluster.Worker.Checkpoints;

/// <summary>
/// Which checkpoint file a command that loads one (<c>mmcluster caption</c>, <c>mmcluster ask</c>) means by
/// <c>--checkpoint FILE|DIR</c>: a file is itself; a stage's checkpoint directory gives its latest step; a run directory
/// gives the latest step of the named stage, or else the newest latest-step among its stages whose kind the command reads.
/// </summary>
public static class CheckpointLookup
{
    /// <param name="checkpoint">A safetensors file, a stage's checkpoint directory or a run directory.</param>
    /// <param name="stage">The stage to take in a run directory (null: any of <paramref name="kinds"/>, newest first).</param>
    /// <param name="kinds">The stage kinds (<c>extra.kind</c> in the checkpoint's metadata) the command can load.</param>
    public static string Resolve(string checkpoint, string? stage, IReadOnlyCollection<string> kinds)
    {
        if (File.Exists(checkpoint))
        {
            return checkpoint;
        }
        if (!Directory.Exists(checkpoint))
        {
            throw new FileNotFoundException($"checkpoint '{checkpoint}' is neither a file nor a directory", checkpoint);
        }
        var own = new CheckpointStore(checkpoint).LatestPath();
        if (own is not null)
        {
            return own;
        }
        var stages = Path.Combine(checkpoint, "checkpoints");
        if (stage is not null)
        {
            return new CheckpointStore(Path.Combine(stages, stage)).LatestPath()
                ?? throw new FileNotFoundException($"'{checkpoint}' holds no checkpoint of stage '{stage}' (looked in {Path.Combine(stages, stage)})");
        }
        var candidates = Directory.Exists(stages)
            ? Directory.EnumerateDirectories(stages).Select(d => new CheckpointStore(d).LatestPath()).OfType<string>()
                .Where(p => kinds.Contains(SafeTensorsFile.Read(p).Metadata.GetValueOrDefault("extra.kind") ?? ""))
                .OrderBy(File.GetLastWriteTimeUtc).ToList()
            : [];
        return candidates.LastOrDefault()
            ?? throw new FileNotFoundException(
                $"'{checkpoint}' holds no checkpoint of a {string.Join(", ", kinds)} stage (looked for step-*.safetensors in it and under {stages})");
    }
}
