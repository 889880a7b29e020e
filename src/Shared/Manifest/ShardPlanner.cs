namespace MmCluster.Shared.Manifest;

/// <summary>
/// Cuts a manifest into shards and orders them per epoch. Pure: its input is footer summaries (files and their row-group
/// row counts), so planning needs no data read and memory grows with row groups, never with rows.
/// </summary>
public static class ShardPlanner
{
    /// <summary>
    /// The manifest's shards in file order: contiguous, row-group-aligned ranges that never span files.
    /// <see cref="ShardSpec.ShardId"/> is the index in this list, stable for a given manifest and options.
    /// </summary>
    public static IReadOnlyList<ShardSpec> BuildShards(IReadOnlyList<ManifestFileSummary> files, ShardPlanOptions? options = null)
    {
        options ??= new ShardPlanOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.TargetRowsPerShard);
        var shards = new List<ShardSpec>();
        foreach (var file in files)
        {
            if (options.Split is not null && file.Split is not null && !string.Equals(file.Split, options.Split, StringComparison.Ordinal))
            {
                continue;
            }
            var firstRow = 0L;
            var g = 0;
            while (g < file.RowGroups.Count)
            {
                var start = g;
                var rows = file.RowGroups[g].Rows;
                g++;
                while (g < file.RowGroups.Count && rows + file.RowGroups[g].Rows <= options.TargetRowsPerShard)
                {
                    rows += file.RowGroups[g].Rows;
                    g++;
                }
                if (rows > 0)
                {
                    shards.Add(new ShardSpec(shards.Count, file.File, start, g - start, firstRow, rows));
                }
                firstRow += rows;
            }
        }
        return shards;
    }

    /// <summary>
    /// An epoch's plan: every shard once, in an order shuffled (Fisher-Yates) from a SplitMix64 stream seeded by
    /// (seed, epoch). Same inputs give the same order in every process.
    /// </summary>
    public static EpochPlan PlanEpoch(IReadOnlyList<ShardSpec> shards, long seed, int epoch)
    {
        var order = shards.ToArray();
        var random = new SplitMix64(EpochSeed(seed, epoch));
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = random.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return new EpochPlan(epoch, seed, order);
    }

    /// <summary>Both steps: <see cref="BuildShards"/> then <see cref="PlanEpoch"/>.</summary>
    public static EpochPlan Plan(IReadOnlyList<ManifestFileSummary> files, long seed, int epoch, ShardPlanOptions? options = null) =>
        PlanEpoch(BuildShards(files, options), seed, epoch);

    private static ulong EpochSeed(long seed, int epoch) =>
        SplitMix64.Mix(SplitMix64.Mix((ulong)seed) ^ ((ulong)(uint)epoch * 0x9E3779B97F4A7C15UL));
}
