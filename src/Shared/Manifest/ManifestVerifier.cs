namespace MmCluster.Shared.Manifest;

/// <summary>
/// Reads every row of a manifest through <see cref="ParquetManifestReader.ReadShardAsync"/>, so each row gets exactly
/// the checks a run gives it (<see cref="RowSkipReason"/>, footers that lie about the split), and looks for repeated keys
/// across the whole manifest, which a run's reader checks only within a file. It holds every key with where it was first
/// seen (about 150 bytes a row: 1.5 GB for 10 million rows) and reads every image, so it costs what an epoch's reading does.
/// </summary>
public static class ManifestVerifier
{
    public static async Task<ManifestVerification> VerifyAsync(
        string folder, string? imageRoot = null, ManifestReadLimits? limits = null, int examples = 5, CancellationToken cancellationToken = default,
        ManifestColumnMapping? columns = null)
    {
        var summary = await ParquetManifestReader.InspectAsync(folder, columns, cancellationToken);
        var firstAt = new Dictionary<string, (string File, long Row)>(StringComparer.Ordinal);
        var skips = new List<RowSkip>();
        var duplicates = new List<DuplicateKeyRow>();
        var duplicateCount = 0L;
        var refused = new List<(string File, string Message)>();
        var next = 0L;   // the row after the last one heard of: rows come in file order, each yielded or skipped

        void See(string? key, string file, int rowGroup, long row)
        {
            if (string.IsNullOrEmpty(key))
            {
                return;
            }
            if (firstAt.TryAdd(key, (file, row)))
            {
                return;
            }
            duplicateCount++;
            if (duplicates.Count < examples)
            {
                var (firstFile, firstRow) = firstAt[key];
                duplicates.Add(new DuplicateKeyRow(key, file, rowGroup, row, firstFile, firstRow));
            }
        }

        var stats = new ManifestReadStats
        {
            OnSkip = skip =>
            {
                next = skip.Row + 1;
                if (skip.Reason != RowSkipReason.DuplicateKey && skips.Count(s => s.Reason == skip.Reason) < examples)
                {
                    skips.Add(skip);
                }
                See(skip.Key, skip.File, skip.RowGroup, skip.Row);
            },
        };
        // Repeats are skipped, not refused, so that every one of them is seen and the reading goes on.
        await using var reader = new ParquetManifestReader(summary.Folder, split: null, imageRoot, limits, DuplicateKeyPolicy.Skip, columns);
        foreach (var file in summary.Files)
        {
            try
            {
                foreach (var shard in ShardPlanner.BuildShards([file]))   // one row group per shard
                {
                    next = shard.FirstRow;
                    await foreach (var row in reader.ReadShardAsync(shard, stats, cancellationToken))
                    {
                        See(row.Key, shard.File, shard.FirstRowGroup, next++);
                    }
                }
            }
            catch (ManifestException e)
            {
                refused.Add((file.File, e.Message));   // the rest of that file is not read
            }
        }
        return new ManifestVerification
        {
            Stats = stats,
            FirstSkips = skips,
            DuplicateKeys = duplicateCount,
            FirstDuplicates = duplicates,
            RefusedFiles = refused,
        };
    }
}
