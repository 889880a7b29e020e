using MmCluster.Shared.Manifest;
using Parquet;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>Keys are unique: a repeat is refused at import, and found per file when a reader first reads the file.</summary>
public sealed class DuplicateKeySpecs : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Should_refuse_a_key_when_the_same_import_already_wrote_it()
    {
        await using var writer = new ParquetManifestWriter(_temp.Path, new ParquetManifestWriterOptions { RowsPerGroup = 2, RowsPerFile = 2 });
        await writer.AddAsync(ManifestFixtures.Row(0));
        await writer.AddAsync(ManifestFixtures.Row(1));
        await writer.AddAsync(ManifestFixtures.Row(2));   // a new file: the check spans files

        var error = await Assert.ThrowsAsync<ManifestException>(async () => await writer.AddAsync(ManifestFixtures.Row(0)));

        Assert.Contains("key 'row-0000' was already written by this import (row 3 repeats it)", error.Message);
    }

    [Fact]
    public async Task Should_refuse_the_file_naming_its_first_repeats_and_their_rows_when_the_policy_is_the_default()
    {
        await WriteAsync("dup.parquet", ["a", "b", "c", "a", "d", "b", "a"], rowsPerGroup: 3);
        var shards = await ShardsAsync();
        await using var reader = new ParquetManifestReader(_temp.Path);

        // Even a shard holding no repeat refuses: the whole file's keys are read when it is first opened.
        var error = await Assert.ThrowsAsync<ManifestException>(() => ManifestFixtures.ReadAllAsync(reader, [shards[0]]));

        Assert.Contains("dup.parquet", error.Message);
        Assert.Contains("3 rows repeat a key of an earlier row of this file", error.Message);
        Assert.Contains("'a' at rows 0 and 3, 'b' at rows 1 and 5, 'a' at rows 0 and 6", error.Message);
        Assert.Contains("duplicate_keys: skip", error.Message);
    }

    [Fact]
    public async Task Should_keep_the_first_row_of_a_key_and_skip_and_count_the_rest_when_the_policy_is_skip()
    {
        await WriteAsync("dup.parquet", ["a", "b", "c", "a", "d", "b", "a"], rowsPerGroup: 3);
        await WriteAsync("other.parquet", ["a", "e"], rowsPerGroup: 2);   // across files: not the read path's check
        var skips = new List<RowSkip>();
        var stats = new ManifestReadStats { OnSkip = skips.Add };
        await using var reader = new ParquetManifestReader(_temp.Path, duplicateKeys: DuplicateKeyPolicy.Skip);

        var keys = new List<string>();
        foreach (var shard in await ShardsAsync())
        {
            await foreach (var row in reader.ReadShardAsync(shard, stats))
            {
                keys.Add(row.Key);
            }
        }

        Assert.Equal(["a", "b", "c", "d", "a", "e"], keys);
        Assert.Equal(3, stats.SkippedFor(RowSkipReason.DuplicateKey));
        Assert.Equal(0, stats.SkippedUndecodableImage);
        Assert.Equal([(1, 3L, "a"), (1, 5L, "b"), (2, 6L, "a")], skips.Select(s => (s.RowGroup, s.Row, s.Key!)));
        Assert.Equal("dup.parquet, row group 1, row 5 (key 'b'): skipped, DuplicateKey: row 1 of this file has the same key (that row is kept)", skips[1].ToString());
    }

    [Fact]
    public async Task Should_read_every_row_when_keys_are_unique_in_each_file()
    {
        await WriteAsync("a.parquet", ["a", "b", "c"], rowsPerGroup: 2);
        await using var reader = new ParquetManifestReader(_temp.Path);

        var rows = await ManifestFixtures.ReadAllAsync(reader, await ShardsAsync());

        Assert.Equal(["a", "b", "c"], rows.Select(r => r.Key));
    }

    private async Task<IReadOnlyList<ShardSpec>> ShardsAsync() =>
        ShardPlanner.BuildShards((await ParquetManifestReader.InspectAsync(_temp.Path)).Files);

    /// <summary>A real Parquet file with the given keys (the manifest writer refuses repeats, so Parquet.Net writes it).</summary>
    private async Task WriteAsync(string name, string[] keys, int rowsPerGroup)
    {
        var schema = new ManifestSchema(ManifestImageStorage.Embedded, hasLabel: false, hasSplit: false);
        await using var stream = File.Create(_temp.Combine(name));
        await using var writer = await ParquetWriter.CreateAsync(schema.Parquet, stream);
        foreach (var chunk in keys.Chunk(rowsPerGroup))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(schema.KeyField, chunk);
            await group.WriteAsync(schema.CaptionField, chunk.Select(k => $"a photo of {k}").ToArray());
            await group.WriteAsync(schema.ImageField, chunk.Select((_, i) => ManifestFixtures.Png(i)).ToArray());
        }
    }
}
