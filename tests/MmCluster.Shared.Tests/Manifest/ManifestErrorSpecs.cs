using MmCluster.Shared.Manifest;
using Parquet;
using Parquet.Schema;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>Every structural problem gives a <see cref="ManifestException"/> whose message names the file.</summary>
public sealed class ManifestErrorSpecs : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Should_name_folder_when_it_has_no_parquet_files()
    {
        await File.WriteAllTextAsync(_temp.Combine("readme.txt"), "not a manifest");

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path));

        Assert.Contains(_temp.Path, error.Message);
        Assert.Contains("no .parquet files", error.Message);
    }

    [Fact]
    public async Task Should_name_file_when_it_is_not_parquet()
    {
        await File.WriteAllTextAsync(_temp.Combine("bad.parquet"), "key,caption\nrow-1,a photo of a cat\n");

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path));

        Assert.Contains("bad.parquet", error.Message);
        Assert.Contains("not a Parquet file", error.Message);
    }

    [Fact]
    public async Task Should_name_file_when_it_is_truncated()
    {
        await ManifestFixtures.WriteAsync(_temp.Path, rows: 8, rowsPerGroup: 4, rowsPerFile: 8);
        var path = _temp.Combine("part-00000.parquet");
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length * 2 / 3)]);

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path));

        Assert.Contains("part-00000.parquet", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public async Task Should_name_file_and_row_group_when_a_data_page_is_corrupt()
    {
        await ManifestFixtures.WriteAsync(_temp.Path, rows: 8, rowsPerGroup: 4, rowsPerFile: 8);
        var path = _temp.Combine("part-00000.parquet");
        var bytes = await File.ReadAllBytesAsync(path);
        Array.Fill(bytes, (byte)0xFF, 4, 64);
        await File.WriteAllBytesAsync(path, bytes);
        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        var reader = new ParquetManifestReader(_temp.Path);

        var error = await Assert.ThrowsAsync<ManifestException>(() => ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files)));

        Assert.Contains("part-00000.parquet, row group 0", error.Message);
    }

    [Theory]
    [InlineData("caption", "missing column 'caption'")]
    [InlineData("image", "missing column 'image' (binary) or 'image_path'")]
    [InlineData("key", "missing column 'key'")]
    public async Task Should_name_file_when_a_required_column_is_missing(string dropped, string expected)
    {
        var fields = new List<DataField> { new DataField<string>("key"), new DataField<string>("caption"), new DataField<byte[]>("image") };
        await WriteRawAsync("raw.parquet", fields.Where(f => f.Name != dropped).ToArray());

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path));

        Assert.Contains("raw.parquet", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("caption", "column 'caption' has type int32, expected string")]
    [InlineData("image", "column 'image' has type string, expected binary")]
    [InlineData("label", "column 'label' has type string, expected int32 or int64")]
    public async Task Should_name_file_and_column_when_a_column_has_the_wrong_type(string column, string expected)
    {
        DataField[] fields =
        [
            new DataField<string>("key"),
            column == "caption" ? new DataField<int>("caption") : new DataField<string>("caption"),
            column == "image" ? new DataField<string>("image") : new DataField<byte[]>("image"),
            new DataField<string>("label"),
        ];
        if (column != "label")
        {
            fields = fields[..3];
        }
        await WriteRawAsync("typed.parquet", fields);

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path));

        Assert.Contains("typed.parquet", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task Should_name_file_when_files_mix_embedded_and_by_path_images()
    {
        await ManifestFixtures.WriteAsync(_temp.Path, rows: 2, rowsPerGroup: 2, rowsPerFile: 2, prefix: "a");
        await using (var writer = new ParquetManifestWriter(_temp.Path, new ParquetManifestWriterOptions { FilePrefix = "b", Storage = ManifestImageStorage.ByPath }))
        {
            await writer.AddAsync(new ManifestRow("b", "caption", [], ImagePath: "x.png"));
        }

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path));

        Assert.Contains("b-00000.parquet", error.Message);
    }

    [Fact]
    public async Task Should_stop_naming_the_file_and_row_when_the_footer_claims_a_split_its_rows_do_not_hold()
    {
        var schema = new ManifestSchema(ManifestImageStorage.Embedded, hasLabel: false, hasSplit: true);
        await using (var stream = File.Create(_temp.Combine("lying.parquet")))
        await using (var writer = await ParquetWriter.CreateAsync(schema.Parquet, stream))
        {
            writer.CustomMetadata = new Dictionary<string, string> { [ManifestSchema.SplitMetadataKey] = "train" };
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(schema.KeyField, new[] { "a", "b" });
            await group.WriteAsync(schema.CaptionField, new[] { "a cat", "a dog" });
            await group.WriteAsync(schema.ImageField, new[] { ManifestFixtures.Png(1), ManifestFixtures.Png(2) });
            await group.WriteAsync(schema.SplitField, new[] { "train", "test" });
        }
        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        var shard = Assert.Single(ShardPlanner.BuildShards(summary.Files, new ShardPlanOptions { Split = "train" }));
        await using var reader = new ParquetManifestReader(_temp.Path, "train");

        var error = await Assert.ThrowsAsync<ManifestException>(() => ManifestFixtures.ReadAllAsync(reader, [shard]));

        Assert.Contains("lying.parquet", error.Message);
        Assert.Contains("row 1 (key 'b') says split 'test' but the file's footer says 'train'", error.Message);
    }

    /// <summary>A Parquet file with arbitrary columns, one row, written with Parquet.Net directly.</summary>
    private async Task WriteRawAsync(string name, DataField[] fields)
    {
        await using var stream = File.Create(_temp.Combine(name));
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
        using var group = writer.CreateRowGroup();
        foreach (var field in fields)
        {
            if (field is DataField<int>)
            {
                await group.WriteAsync<int>(field, new[] { 7 }.AsMemory());
            }
            else if (field is DataField<byte[]>)
            {
                await group.WriteAsync(field, new[] { new byte[] { 1, 2 } });
            }
            else
            {
                await group.WriteAsync(field, new[] { "x" });
            }
        }
    }
}
