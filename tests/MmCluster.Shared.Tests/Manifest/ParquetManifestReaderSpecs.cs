using MmCluster.Shared.Manifest;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

public sealed class ParquetManifestReaderSpecs : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Should_round_trip_rows_when_written_with_row_groups_and_files()
    {
        var written = await ManifestFixtures.WriteAsync(_temp.Path, rows: 23, rowsPerGroup: 4, rowsPerFile: 10);

        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        Assert.Equal(["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"], summary.Files.Select(f => f.File));
        Assert.Equal([4L, 4, 2], summary.Files[0].RowGroups.Select(g => g.Rows));
        Assert.Equal([3L], summary.Files[2].RowGroups.Select(g => g.Rows));
        Assert.Equal(23, summary.Rows);
        Assert.Equal(7, summary.RowGroupCount);
        Assert.All(summary.Files, f => Assert.Equal("train", f.Split));
        Assert.Equal(["key", "caption", "image", "label", "split"], summary.Columns.Select(c => c.Name));
        Assert.Equal(["string", "string", "binary", "int32", "string"], summary.Columns.Select(c => c.Type));

        var reader = new ParquetManifestReader(_temp.Path);
        var read = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));
        Assert.Equal(written.Select(r => (r.Key, r.Caption, r.Label, r.Split)), read.Select(r => (r.Key, r.Caption, r.Label, r.Split)));
        Assert.All(read.Zip(written), p => Assert.Equal(p.Second.Image, p.First.Image));
        Assert.Equal(23, reader.Stats.RowsYielded);
        Assert.Equal(0, reader.Stats.Skipped);
    }

    [Fact]
    public async Task Should_read_only_the_rows_of_a_piece_when_a_shard_is_split_across_row_groups()
    {
        var written = await ManifestFixtures.WriteAsync(_temp.Path, rows: 10, rowsPerGroup: 4, rowsPerFile: 10);   // row groups of 4, 4, 2
        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        var shard = new ShardSpec(0, summary.Files[0].File, 0, 3, 0, 10);
        await using var reader = new ParquetManifestReader(_temp.Path);

        var head = await ManifestFixtures.ReadAllAsync(reader, [shard with { EndRow = 3 }]);
        var middle = await ManifestFixtures.ReadAllAsync(reader, [shard with { SkipRows = 3, EndRow = 6 }]);
        var tail = await ManifestFixtures.ReadAllAsync(reader, [shard with { SkipRows = 6 }]);

        Assert.Equal(written.Take(3).Select(r => r.Key), head.Select(r => r.Key));
        Assert.Equal(written.Skip(3).Take(3).Select(r => r.Key), middle.Select(r => r.Key));
        Assert.Equal(written.Skip(6).Select(r => r.Key), tail.Select(r => r.Key));
        Assert.Equal([3L, 4, 5], middle.Select(r => r.FileRow));
    }

    [Fact]
    public async Task Should_read_the_same_rows_when_files_stay_open_between_shards_read_in_any_order()
    {
        var written = await ManifestFixtures.WriteAsync(_temp.Path, rows: 60, rowsPerGroup: 2, rowsPerFile: 6);   // 10 files, 3 row groups each
        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        var shards = ShardPlanner.BuildShards(summary.Files);
        var order = shards.OrderBy(s => (s.ShardId * 7) % shards.Count).ToList();     // jumps between files, more files than stay open
        var expected = written.ToDictionary(r => r.Key, r => r.Caption);

        await using var reader = new ParquetManifestReader(_temp.Path);
        await foreach (var _ in reader.ReadShardAsync(order[0]))
        {
            break;                                                                    // abandoned half-way: that file is closed, not reused
        }
        foreach (var round in new[] { order, order.AsEnumerable().Reverse().ToList() })
        {
            var read = await ManifestFixtures.ReadAllAsync(reader, round);
            Assert.Equal(60, read.Count);
            Assert.All(read, r => Assert.Equal(expected[r.Key], r.Caption));
            Assert.Equal(expected.Keys.Order(), read.Select(r => r.Key).Order());
        }
        await reader.DisposeAsync();
        Assert.Equal(shards[0].RowCount + shards[1].RowCount, (await ManifestFixtures.ReadAllAsync(reader, [shards[0], shards[1]])).Count); // still usable
    }

    [Fact]
    public async Task Should_load_images_from_files_when_manifest_is_by_path()
    {
        Directory.CreateDirectory(_temp.Combine("images"));
        var absolute = _temp.Combine("abs.png");
        await File.WriteAllBytesAsync(_temp.Combine("images", "a.png"), ManifestFixtures.Png(1));
        await File.WriteAllBytesAsync(absolute, ManifestFixtures.Png(2));
        var options = new ParquetManifestWriterOptions { Storage = ManifestImageStorage.ByPath };
        await using (var writer = new ParquetManifestWriter(_temp.Path, options))
        {
            await writer.AddAsync(new ManifestRow("a", "relative", [], ImagePath: "images/a.png"));
            await writer.AddAsync(new ManifestRow("b", "absolute", [], ImagePath: absolute));
            await writer.AddAsync(new ManifestRow("c", "missing file", [], ImagePath: "images/none.png"));
        }

        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        Assert.Equal(ManifestImageStorage.ByPath, summary.Storage);
        var reader = new ParquetManifestReader(_temp.Path);
        var rows = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));

        Assert.Equal(["a", "b"], rows.Select(r => r.Key));
        Assert.Equal(ManifestFixtures.Png(1), rows[0].Image);
        Assert.Equal(ManifestFixtures.Png(2), rows[1].Image);
        Assert.Equal("images/a.png", rows[0].ImagePath);
        Assert.Equal(1, reader.Stats.SkippedUndecodableImage);
        // With another image root, "images/a.png" resolves to images/images/a.png (absent); absolute paths are unaffected.
        var rooted = new ParquetManifestReader(_temp.Path, imageRoot: _temp.Combine("images"));
        var fromRoot = await ManifestFixtures.ReadAllAsync(rooted, ShardPlanner.BuildShards(summary.Files));
        Assert.Equal(["b"], fromRoot.Select(r => r.Key));
    }

    [Fact]
    public async Task Should_skip_and_count_rows_when_caption_is_empty_or_image_does_not_decode()
    {
        var options = new ParquetManifestWriterOptions { HasLabel = true };
        await using (var writer = new ParquetManifestWriter(_temp.Path, options))
        {
            await writer.AddAsync(new ManifestRow("good", "a photo.", ManifestFixtures.Png(1), 1));
            await writer.AddAsync(new ManifestRow("empty-caption", "  ", ManifestFixtures.Png(2), 2));
            await writer.AddAsync(new ManifestRow("garbage-image", "a photo.", [1, 2, 3, 4, 5, 6, 7, 8], 3));
            await writer.AddAsync(new ManifestRow("no-image", "a photo.", [], 4));
            await writer.AddAsync(new ManifestRow("", "no key.", ManifestFixtures.Png(3), 5));
            await writer.AddAsync(new ManifestRow("good-2", "another photo.", ManifestFixtures.Png(4), null));
        }

        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        var reader = new ParquetManifestReader(_temp.Path);
        var shardStats = new ManifestReadStats();
        var rows = new List<ManifestRow>();
        await foreach (var row in reader.ReadShardAsync(ShardPlanner.BuildShards(summary.Files)[0], shardStats))
        {
            rows.Add(row);
        }

        Assert.Equal(["good", "good-2"], rows.Select(r => r.Key));
        Assert.Equal([1, (int?)null], rows.Select(r => r.Label));
        Assert.Equal(1, shardStats.SkippedEmptyCaption);
        Assert.Equal(2, shardStats.SkippedUndecodableImage);
        Assert.Equal(1, shardStats.SkippedMissingKey);
        Assert.Equal(2, reader.Stats.RowsYielded);
    }

    [Fact]
    public async Task Should_skip_rows_of_other_splits_when_split_is_given()
    {
        await ManifestFixtures.WriteAsync(_temp.Path, rows: 5, rowsPerGroup: 5, rowsPerFile: 5, prefix: "train", split: "train");
        await ManifestFixtures.WriteAsync(_temp.Path, rows: 3, rowsPerGroup: 5, rowsPerFile: 5, prefix: "test", split: "test");

        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        var reader = new ParquetManifestReader(_temp.Path, split: "test");
        var rows = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));

        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal("test", r.Split));
        Assert.Equal(5, reader.Stats.FilteredBySplit);
        Assert.Equal(new Dictionary<string, long> { ["test"] = 3, ["train"] = 5 }, summary.RowsBySplit);
    }

    [Fact]
    public async Task Should_name_file_when_shard_asks_for_row_groups_the_file_lacks()
    {
        await ManifestFixtures.WriteAsync(_temp.Path, rows: 4, rowsPerGroup: 2, rowsPerFile: 4);
        var reader = new ParquetManifestReader(_temp.Path);

        var error = await Assert.ThrowsAsync<ManifestException>(async () =>
        {
            await foreach (var _ in reader.ReadShardAsync(new ShardSpec(0, "part-00000.parquet", 1, 2, 2, 4)))
            {
            }
        });

        Assert.Contains("part-00000.parquet", error.Message);
        Assert.Contains("has 2", error.Message);
    }
}
