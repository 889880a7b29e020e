using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>Tiny real manifests written with the production writer.</summary>
internal static class ManifestFixtures
{
    public static byte[] Png(int seed)
    {
        var pixels = new byte[4 * 4];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)(seed * 31 + i * 7);
        }
        return GrayPng.Encode(pixels, 4, 4);
    }

    public static ManifestRow Row(int i, string split = "train") => new($"row-{i:D4}", $"a photo of thing {i}.", Png(i), i % 10, split);

    /// <summary>Writes rows 0..rows-1 (embedded images, labels, splits) and returns them.</summary>
    public static async Task<List<ManifestRow>> WriteAsync(string folder, int rows, int rowsPerGroup, long rowsPerFile, string prefix = "part", string split = "train")
    {
        var options = new ParquetManifestWriterOptions
        {
            RowsPerGroup = rowsPerGroup,
            RowsPerFile = rowsPerFile,
            FilePrefix = prefix,
            HasLabel = true,
            HasSplit = true,
        };
        var written = new List<ManifestRow>();
        await using var writer = new ParquetManifestWriter(folder, options);
        for (var i = 0; i < rows; i++)
        {
            var row = Row(i, split) with { Key = $"{prefix}-{i:D4}" };
            written.Add(row);
            await writer.AddAsync(row);
        }
        return written;
    }

    public static async Task<List<ManifestRow>> ReadAllAsync(ParquetManifestReader reader, IEnumerable<ShardSpec> shards)
    {
        var rows = new List<ManifestRow>();
        foreach (var shard in shards)
        {
            await foreach (var row in reader.ReadShardAsync(shard))
            {
                rows.Add(row);
            }
        }
        return rows;
    }
}
