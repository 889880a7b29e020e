using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using Parquet;
using Parquet.Schema;
using Xunit;
using static MmCluster.Shared.Tests.Manifest.WebDatasetFixtures;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>Parquet written by other tools (img2dataset's: key, jpg, txt, url, width, height) read in place through <c>manifest.columns</c>.</summary>
public sealed class ManifestColumnMappingSpecs : IDisposable
{
    private static readonly ManifestColumnMapping Img2Dataset = ManifestColumnMapping.Parse("image=jpg,caption=txt,key=key");
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Should_read_the_rows_the_webdataset_import_gives_when_img2dataset_parquet_is_read_through_a_mapping()
    {
        var images = WriteGoodTar(_temp.Combine("00000.tar"), 0, 6);
        await WebDatasetImporter.ImportAsync(new WebDatasetImportOptions([_temp.Combine("00000.tar")], _temp.Combine("imported")));
        var keys = images.Keys.Order(StringComparer.Ordinal).ToArray();
        await WriteImg2DatasetAsync(_temp.Combine("img2dataset", "00000.parquet"), keys, keys.Select(k => images[k]).ToArray());

        var imported = await ReadAsync(_temp.Combine("imported"), null);
        var mapped = await ReadAsync(_temp.Combine("img2dataset"), Img2Dataset);

        Assert.Equal(6, mapped.Rows.Count);
        Assert.Equal(
            imported.Rows.Select(r => (r.Key, r.Caption, Convert.ToBase64String(r.Image))),
            mapped.Rows.Select(r => (r.Key, r.Caption, Convert.ToBase64String(r.Image))));
        Assert.Equal(0, mapped.Skipped);
    }

    [Fact]
    public async Task Should_read_labels_from_the_mapped_column_and_count_them_from_the_footers_when_the_mapping_names_label()
    {
        await Img2DatasetParquet.WriteAsync(_temp.Combine("m", "00000.parquet"), ["a", "b", "c"], [Image(1), Image(2), Image(3)], classes: [4, null, 0]);
        var mapping = ManifestColumnMapping.Parse("image=jpg,caption=txt,key=key,label=cls");

        var summary = await ParquetManifestReader.InspectAsync(_temp.Combine("m"), mapping);
        var (rows, skipped, _) = await ReadAsync(_temp.Combine("m"), mapping);

        Assert.Equal([4, null, 0], rows.Select(r => r.Label));
        Assert.Equal(0, skipped);
        Assert.Equal((true, 2L), (summary.HasLabel, summary.LabelRows!.Value));
        Assert.Equal("'cls' (manifest.columns.label)", summary.Mapping.Describe(ManifestSchema.Label));
    }

    [Theory]
    [InlineData(false, "missing column 'cls' (manifest.columns.label) (int32 or int64); columns are: key, jpg, txt, url, width, height")]
    [InlineData(true, "column 'txt' (manifest.columns.label) has type string, expected int32 or int64")]
    public async Task Should_name_the_file_and_column_when_the_label_mapping_does_not_fit_the_footer(bool mapCaption, string expected)
    {
        await WriteImg2DatasetAsync(_temp.Combine("00000.parquet"), ["a"], [Image(1)]);
        var mapping = ManifestColumnMapping.Parse(mapCaption ? "image=jpg,caption=txt,key=key,label=txt" : "image=jpg,caption=txt,key=key,label=cls");

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path, mapping));

        Assert.Contains(expected, error.Message);
        Assert.Contains("00000.parquet: ", error.Message);
    }

    [Theory]
    [InlineData("image=jpeg,caption=txt,key=key", "missing column 'jpeg' (manifest.columns.image) (binary) or 'image_path' (string); columns are: key, jpg, txt, url, width, height")]
    [InlineData("image=jpg,caption=width,key=key", "column 'width' (manifest.columns.caption) has type int32, expected string")]
    [InlineData("image=jpg,caption=txt,key=id", "missing column 'id' (manifest.columns.key) (string)")]
    [InlineData("image=txt,caption=txt,key=key", "column 'txt' (manifest.columns.image) has type string, expected binary")]
    public async Task Should_name_the_file_and_column_before_reading_a_row_when_the_mapping_does_not_fit_the_footer(string mapping, string expected)
    {
        await WriteImg2DatasetAsync(_temp.Combine("00000.parquet"), ["a"], [Image(1)]);
        await WriteImg2DatasetAsync(_temp.Combine("00001.parquet"), ["b"], [Image(2)]);

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path, ManifestColumnMapping.Parse(mapping)));

        Assert.Contains(expected, error.Message);
        Assert.Matches(@"0000[01]\.parquet: ", error.Message);
    }

    [Fact]
    public async Task Should_skip_a_row_saying_this_product_does_not_download_when_it_has_a_url_but_no_image_bytes()
    {
        await WriteImg2DatasetAsync(_temp.Combine("00000.parquet"), ["a", "b"], [Image(1), null]);

        var (rows, _, skips) = await ReadAsync(_temp.Path, Img2Dataset);

        Assert.Equal(["a"], rows.Select(r => r.Key));
        var skip = Assert.Single(skips);
        Assert.Equal(("b", RowSkipReason.MissingImage), (skip.Key, skip.Reason));
        Assert.Equal("no image bytes, only url 'https://example.com/b.jpg': mmcluster does not download images (fetch them first, e.g. with img2dataset)", skip.Detail);
    }

    [Fact]
    public async Task Should_refuse_a_file_of_urls_saying_this_product_does_not_download()
    {
        await using (var stream = File.Create(_temp.Combine("urls.parquet")))
        {
            DataField[] fields = [new DataField<string>("url"), new DataField<string>("caption")];
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(fields[0], new[] { "https://example.com/a.jpg" });
            await group.WriteAsync(fields[1], new[] { "a cat" });
        }

        var error = await Assert.ThrowsAsync<ManifestException>(() => ParquetManifestReader.InspectAsync(_temp.Path, ManifestColumnMapping.Parse("key=url")));

        Assert.Contains("urls.parquet: missing column 'image' (binary) or 'image_path' (string)", error.Message);
        Assert.Contains("it has 'url', but mmcluster does not download images", error.Message);
    }

    [Theory]
    [InlineData("picture=jpg", "'picture' is not a manifest column that can be mapped")]
    [InlineData("image=", "the mapping of 'image' names no column")]
    [InlineData("image", "'image' is not column=name")]
    public void Should_refuse_a_mapping_that_names_no_manifest_column_when_parsed(string text, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => ManifestColumnMapping.Parse(text));

        Assert.Contains(expected, error.Message);
    }

    internal static Task WriteImg2DatasetAsync(string path, string[] keys, byte[]?[] images) => Img2DatasetParquet.WriteAsync(path, keys, images);

    private static async Task<(List<ManifestRow> Rows, long Skipped, List<RowSkip> Skips)> ReadAsync(string folder, ManifestColumnMapping? columns)
    {
        var summary = await ParquetManifestReader.InspectAsync(folder, columns);
        var skips = new List<RowSkip>();
        await using var reader = new ParquetManifestReader(folder, columns: columns);
        var rows = new List<ManifestRow>();
        foreach (var shard in ShardPlanner.BuildShards(summary.Files))
        {
            await foreach (var row in reader.ReadShardAsync(shard, new ManifestReadStats { OnSkip = skips.Add }))
            {
                rows.Add(row);
            }
        }
        return (rows, reader.Stats.Skipped, skips);
    }
}
