using MmCluster.Worker.Training;
using SkiaSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

public sealed class PrefetchingBatchPipelineSpecs
{
    private static readonly byte[] Image = ImageDecoderSpecs.Png(28, (x, _) => new SKColor((byte)x, (byte)x, (byte)x));

    private static async IAsyncEnumerable<CaptionedImage> Rows(int count, int failAt = -1)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            if (i == failAt)
            {
                throw new InvalidDataException($"row {i} is broken");
            }
            yield return new CaptionedImage($"k{i}", $"a photo of item {i}", Image, i % 10);
        }
    }

    private static PrefetchingBatchPipeline Pipeline(int batchSize) =>
        new(new BatchBuilder(ImageDecoder.FashionMnist, new CaptionTokenizer(8)), batchSize, depth: 2);

    [Fact]
    public async Task Should_yield_full_batches_in_order_and_keep_the_tail_when_source_ends()
    {
        var pipeline = Pipeline(batchSize: 2);
        var batches = new List<ClipBatch>();
        await foreach (var batch in pipeline.RunAsync(Rows(5)))
        {
            batches.Add(batch.Validate());
        }

        Assert.Equal(2, batches.Count);
        Assert.Equal(["k0", "k1", "k2", "k3"], batches.SelectMany(b => b.Keys));
        Assert.Equal([0, 1, 2, 3], batches.SelectMany(b => b.Labels));
        Assert.Equal(new long[] { 2, 1, 28, 28 }, batches[0].PixelShape);
        Assert.Equal(["k4"], pipeline.Remainder.Select(r => r.Key));
    }

    [Fact]
    public async Task Should_surface_the_source_error_when_a_row_fails()
    {
        var pipeline = Pipeline(batchSize: 2);
        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var _ in pipeline.RunAsync(Rows(6, failAt: 3)))
            {
            }
        });
        Assert.Contains("row 3", error.Message);
    }
}
