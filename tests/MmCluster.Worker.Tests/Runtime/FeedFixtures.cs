using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Worker.Tests.Training.Photos;
using MmCluster.Worker.Training;
using SkiaSharp;

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

    /// <summary>
    /// A manifest of colour JPEGs of several sizes (each row its own pattern) written as <see cref="WriteManifestAsync"/>
    /// writes grey ones; the rows in <paramref name="truncated"/> hold only the first half of their JPEG.
    /// </summary>
    public static async Task<TestManifest> WritePhotoManifestAsync(int rows, int rowsPerGroup, params int[] truncated)
    {
        var folder = Directory.CreateTempSubdirectory("mmcluster-photos-").FullName;
        var options = new ParquetManifestWriterOptions { RowsPerGroup = rowsPerGroup, HasLabel = true, HasSplit = true };
        await using (var writer = new ParquetManifestWriter(folder, options))
        {
            for (var i = 0; i < rows; i++)
            {
                var jpeg = PhotoDecoderSpecs.Encode(48 + (i % 3 * 40), 40 + (i % 4 * 30), SKEncodedImageFormat.Jpeg,
                    (x, y) => new SKColor((byte)((x * (i + 1)) + y), (byte)(y * 3), (byte)(x ^ (y + i))));
                await writer.AddAsync(new ManifestRow(Key(i), $"a photo of thing {i}.", truncated.Contains(i) ? jpeg[..(jpeg.Length / 2)] : jpeg, i % 10, "train"));
            }
        }
        var summary = await ParquetManifestReader.InspectAsync(folder);
        return new TestManifest(folder, ShardPlanner.BuildShards(summary.Files, new ShardPlanOptions { Split = "train" }));
    }

    public static string Key(int row) => $"row-{row:D4}";

    /// <summary>The CLIP training batches of RGB 32x32 photos: random-resized-crops from seed 11, the row's epoch and key.</summary>
    public static BatchBuilder PhotoBuilder() => new(ImageDecoder.ClipRgb(32), new CaptionTokenizer(8), cropSeed: 11);

    public static BatchBuilder Builder() => new(ImageDecoder.FashionMnist, new CaptionTokenizer(8));
}

/// <summary>A manifest written by <see cref="FeedFixtures.WriteManifestAsync"/> and its train shards.</summary>
internal sealed record TestManifest(string Folder, IReadOnlyList<ShardSpec> Shards) : IDisposable
{
    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
