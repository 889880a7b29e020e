using System.Buffers.Binary;
using System.IO.Compression;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using SkiaSharp;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

public sealed class IdxImporterSpecs : IDisposable
{
    private const int Count = 7;
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Should_write_captioned_png_rows_when_importing_idx(bool gzipped)
    {
        var (images, labels) = WriteIdx(gzipped);
        var output = _temp.Combine("manifest");
        var options = new IdxImportOptions(images, labels, output) { Split = "test", KeyPrefix = "fmnist", RowsPerGroup = 3, RowsPerFile = 6 };

        var written = await IdxImporter.ImportAsync(options);

        Assert.Equal(Count, written);
        var summary = await ParquetManifestReader.InspectAsync(output);
        Assert.Equal(["test-00000.parquet", "test-00001.parquet"], summary.Files.Select(f => f.File));
        Assert.All(summary.Files, f => Assert.Equal("test", f.Split));
        var reader = new ParquetManifestReader(output);
        var rows = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"fmnist-test-{i:D6}"), rows.Select(r => r.Key));
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (int?)(i % 10)), rows.Select(r => r.Label));
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(CaptionTemplates.ForRow(i, ClassNames.FashionMnist[i % 10]), rows[i].Caption);
            Assert.Contains(ClassNames.FashionMnist[i % 10], rows[i].Caption);
            using var bitmap = SKBitmap.Decode(rows[i].Image);
            Assert.Equal((28, 28), (bitmap.Width, bitmap.Height));
            Assert.Equal(Pixel(i, 5, 9), bitmap.GetPixel(5, 9).Red);
            Assert.Equal(Pixel(i, 27, 0), bitmap.GetPixel(27, 0).Red);
        }
    }

    [Theory]
    [InlineData("train", false)]
    [InlineData("test", true)]
    public async Task Should_write_each_rows_conversation_with_its_splits_phrasings_when_importing_instructions(string split, bool heldOut)
    {
        var (images, labels) = WriteIdx(gzipped: false);
        var output = _temp.Combine("manifest");
        var options = new IdxImportOptions(images, labels, output) { Split = split, KeyPrefix = "fmnist", Instructions = true, CaptionSeed = 3 };

        await IdxImporter.ImportAsync(options);

        var summary = await ParquetManifestReader.InspectAsync(output);
        await using var reader = new ParquetManifestReader(output);
        var rows = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));
        Assert.Equal(Count, summary.ConversationRows);
        Assert.Equal(Count, rows.Count);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(CaptionTemplates.ForRow(i, ClassNames.FashionMnist[i % 10], 3), rows[i].Caption);
            Assert.Equal(FashionMnistInstructions.ForRow(i, i % 10, heldOut, 3), rows[i].Conversation);
        }
    }

    [Fact]
    public async Task Should_refuse_a_manifest_without_conversations_when_fashion_mnist_instructions_are_asked_for()
    {
        var folder = _temp.Combine("plain");
        await ManifestFixtures.WriteAsync(folder, rows: 2, rowsPerGroup: 2, rowsPerFile: 2);

        var error = await Assert.ThrowsAsync<ManifestException>(() => FashionMnist.EnsureManifestAsync(folder, instructions: true));
        var plain = await FashionMnist.EnsureManifestAsync(folder);

        Assert.Contains(folder, error.Message);
        Assert.Contains("without the 'conversation' column", error.Message);
        Assert.Equal(2, plain.Rows);
    }

    [Fact]
    public async Task Should_refuse_instructions_when_the_classes_are_not_fashion_mnists()
    {
        var (images, labels) = WriteIdx(gzipped: false);
        var options = new IdxImportOptions(images, labels, _temp.Combine("out")) { ClassNames = ClassNames.Mnist, Instructions = true };

        var error = await Assert.ThrowsAsync<ManifestException>(() => IdxImporter.ImportAsync(options));

        Assert.Contains("instructions need the Fashion-MNIST classes", error.Message);
    }

    [Fact]
    public void Should_name_file_when_magic_is_wrong()
    {
        var (images, labels) = WriteIdx(gzipped: false);

        var swapped = Assert.Throws<ManifestException>(() => IdxReader.ReadImages(labels));
        var garbage = _temp.Combine("garbage.idx");
        File.WriteAllBytes(garbage, [0x12, 0x34, 0x08, 0x03, 0, 0, 0, 1]);
        var notIdx = Assert.Throws<ManifestException>(() => IdxReader.ReadImages(garbage));

        Assert.Contains(labels, swapped.Message);
        Assert.Contains("dimensions, expected 3", swapped.Message);
        Assert.Contains("garbage.idx", notIdx.Message);
        Assert.Contains("not an IDX file", notIdx.Message);
        Assert.Equal(Count, IdxReader.ReadImages(images).Count);
    }

    [Fact]
    public void Should_name_file_when_idx_is_truncated()
    {
        var (images, _) = WriteIdx(gzipped: true);
        var bytes = File.ReadAllBytes(images);
        File.WriteAllBytes(images, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<ManifestException>(() => IdxReader.ReadImages(images));

        Assert.Contains(images, error.Message);
    }

    [Fact]
    public async Task Should_fail_naming_labels_file_when_counts_differ()
    {
        var (images, _) = WriteIdx(gzipped: false);
        var labels = _temp.Combine("short-labels.idx");
        await File.WriteAllBytesAsync(labels, Idx([0, 0, 8, 1], [3], [0, 1, 2]));

        var error = await Assert.ThrowsAsync<ManifestException>(() => IdxImporter.ImportAsync(new IdxImportOptions(images, labels, _temp.Combine("out"))));

        Assert.Contains("short-labels.idx", error.Message);
        Assert.Contains($"3 labels for {Count} images", error.Message);
    }

    [Fact]
    public void Should_render_articles_and_keep_held_out_templates_apart_when_captioning()
    {
        Assert.Equal("a photo of an ankle boot.", CaptionTemplates.Render("a photo of a {}.", "ankle boot"));
        Assert.Equal("an image of a bag.", CaptionTemplates.Render("an image of a {}.", "bag"));
        Assert.True(CaptionTemplates.Training.Count >= 8);
        Assert.True(CaptionTemplates.HeldOut.Count >= 3);
        Assert.Empty(CaptionTemplates.Training.Intersect(CaptionTemplates.HeldOut));
        var captions = Enumerable.Range(0, 1000).Select(i => CaptionTemplates.ForRow(i, "coat")).ToList();
        Assert.Equal(captions, Enumerable.Range(0, 1000).Select(i => CaptionTemplates.ForRow(i, "coat")));
        Assert.Equal(CaptionTemplates.Training.Count, captions.Distinct().Count());
    }

    private static byte Pixel(int image, int x, int y) => (byte)(image * 37 + y * 28 + x);

    private (string Images, string Labels) WriteIdx(bool gzipped)
    {
        var pixels = new byte[Count * 28 * 28];
        for (var i = 0; i < Count; i++)
        {
            for (var y = 0; y < 28; y++)
            {
                for (var x = 0; x < 28; x++)
                {
                    pixels[i * 784 + y * 28 + x] = Pixel(i, x, y);
                }
            }
        }
        var labels = Enumerable.Range(0, Count).Select(i => (byte)(i % 10)).ToArray();
        var suffix = gzipped ? ".gz" : "";
        var imagesPath = _temp.Combine("images-idx3-ubyte" + suffix);
        var labelsPath = _temp.Combine("labels-idx1-ubyte" + suffix);
        Write(imagesPath, Idx([0, 0, 8, 3], [Count, 28, 28], pixels), gzipped);
        Write(labelsPath, Idx([0, 0, 8, 1], [Count], labels), gzipped);
        return (imagesPath, labelsPath);
    }

    private static byte[] Idx(byte[] magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        magic.CopyTo(bytes, 0);
        for (var d = 0; d < dims.Length; d++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        }
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    private static void Write(string path, byte[] bytes, bool gzipped)
    {
        using var file = File.Create(path);
        using var stream = gzipped ? new GZipStream(file, CompressionLevel.Fastest) : (Stream)file;
        stream.Write(bytes);
    }
}
