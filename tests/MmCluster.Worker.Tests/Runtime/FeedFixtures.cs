using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>Tiny real train manifests written with the production writer, and the batch builder that reads them.</summary>
internal static class FeedFixtures
{
    /// <summary>
    /// A manifest in a new temporary folder (deleted on dispose): grey 28x28 PNGs and captions, keys <c>row-0000</c>.. in
    /// file order, labels row mod 10; one shard per row group.
    /// </summary>
    public static async Task<TestManifest> WriteManifestAsync(int rows, int rowsPerGroup)
    {
        var folder = Directory.CreateTempSubdirectory("mmcluster-manifest-").FullName;
        var options = new ParquetManifestWriterOptions { RowsPerGroup = rowsPerGroup, HasLabel = true, HasSplit = true };
        await using (var writer = new ParquetManifestWriter(folder, options))
        {
            for (var i = 0; i < rows; i++)
            {
                var pixels = Enumerable.Range(0, 28 * 28).Select(p => (byte)((i * 31) + p)).ToArray();
                await writer.AddAsync(new ManifestRow(Key(i), $"a photo of thing {i}.", GrayPng.Encode(pixels, 28, 28), i % 10, "train"));
            }
        }
        var summary = await ParquetManifestReader.InspectAsync(folder);
        return new TestManifest(folder, ShardPlanner.BuildShards(summary.Files, new ShardPlanOptions { Split = "train" }));
    }

    public static string Key(int row) => $"row-{row:D4}";

    public static BatchBuilder Builder() => new(ImageDecoder.FashionMnist, new CaptionTokenizer(8));
}

/// <summary>A manifest written by <see cref="FeedFixtures.WriteManifestAsync"/> and its train shards.</summary>
internal sealed record TestManifest(string Folder, IReadOnlyList<ShardSpec> Shards) : IDisposable
{
    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
