using MmCluster.Shared.Manifest;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>Rows without a split (img2dataset's Parquet has no split column) go to training, or to test by a hash of the key.</summary>
public sealed class UnsplitRowsSpecs : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Should_put_every_row_in_training_when_the_test_fraction_is_zero()
    {
        Assert.All(Enumerable.Range(0, 1000), i => Assert.Equal("train", UnsplitRows.Default.Assign($"key-{i}")));
    }

    [Fact]
    public void Should_send_about_the_test_fraction_to_test_by_key_alone_when_a_fraction_is_given()
    {
        var unsplit = new UnsplitRows("tr", "te", 0.2);
        var keys = Enumerable.Range(0, 20_000).Select(i => $"{i:D9}").ToArray();

        var splits = keys.Select(unsplit.Assign).ToArray();

        Assert.All(splits, s => Assert.Contains(s, new[] { "tr", "te" }));
        Assert.InRange(splits.Count(s => s == "te") / 20_000.0, 0.19, 0.21);
        Assert.Equal(splits, keys.Select(new UnsplitRows("tr", "te", 0.2).Assign));     // the same on every reader
    }

    [Fact]
    public async Task Should_partition_img2dataset_parquet_into_train_and_test_rows_when_read_by_split()
    {
        var keys = Enumerable.Range(0, 40).Select(i => $"{i:D9}").ToArray();
        await ManifestColumnMappingSpecs.WriteImg2DatasetAsync(_temp.Combine("m", "00000.parquet"), keys, keys.Select((_, i) => ManifestFixtures.Png(i)).ToArray());
        var columns = ManifestColumnMapping.Parse("image=jpg,caption=txt,key=key");
        var unsplit = new UnsplitRows("train", "test", 0.25);

        var train = await KeysAsync(_temp.Combine("m"), "train", columns, unsplit);
        var test = await KeysAsync(_temp.Combine("m"), "test", columns, unsplit);

        Assert.Equal(keys, train.Concat(test).Order(StringComparer.Ordinal));             // every row once
        Assert.Equal(keys.Where(k => unsplit.Assign(k) == "test"), test);
        Assert.NotEmpty(test);
        Assert.NotEmpty(train);
    }

    private static async Task<List<string>> KeysAsync(string folder, string split, ManifestColumnMapping columns, UnsplitRows unsplit)
    {
        var summary = await ParquetManifestReader.InspectAsync(folder, columns);
        await using var reader = new ParquetManifestReader(folder, split, columns: columns, unsplit: unsplit);
        var keys = new List<string>();
        foreach (var shard in ShardPlanner.BuildShards(summary.Files, new ShardPlanOptions { Split = split }))
        {
            await foreach (var row in reader.ReadShardAsync(shard))
            {
                keys.Add(row.Key);
            }
        }
        return keys;
    }
}
