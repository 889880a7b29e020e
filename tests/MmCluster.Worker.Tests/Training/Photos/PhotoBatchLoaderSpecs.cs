using MmCluster.Worker.Training.Photos;
using SkiaSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Training.Photos;

public sealed class PhotoBatchLoaderSpecs
{
    private static readonly float[] Zero = PhotoDecoderSpecs.Zero;
    private static readonly float[] One = PhotoDecoderSpecs.One;

    private static PhotoSample Flat(int i, int width = 40, int height = 30) => new(
        PhotoDecoderSpecs.Encode(width, height, SKEncodedImageFormat.Png, (_, _) => new SKColor((byte)(i * 10), (byte)(255 - (i * 10)), 7)), $"row-{i}", PhotoCrop.Center);

    [Fact]
    public void Should_keep_the_samples_order_within_and_across_batches_when_threads_decode_in_parallel()
    {
        // sizes vary so threads finish out of order
        var samples = Enumerable.Range(0, 11).Select(i => Flat(i, 40 + (i % 3 * 300), 30 + (i % 2 * 200))).ToList();
        var decoder = new PhotoDecoder(8, Zero, One);
        using var loader = new PhotoBatchLoader(decoder, samples, batchSize: 4, threads: 3, inFlight: 2);

        var seen = new List<int>();
        foreach (var batch in loader.ReadAll())
        {
            using (batch)
            {
                Assert.Equal(new long[] { batch.Count, 3, 8, 8 }, batch.Shape);
                for (var j = 0; j < batch.Count; j++)
                {
                    var red = batch.Pixels.Span[j * decoder.ValuesPerImage];
                    seen.Add((int)Math.Round(red * 255 / 10));
                }
            }
        }

        Assert.Equal(Enumerable.Range(0, 11), seen);
        Assert.Equal(3, loader.Batches);
        Assert.Equal(2, loader.BuffersInFlight);
    }

    [Fact]
    public void Should_reuse_at_most_in_flight_buffers_when_batches_are_released()
    {
        var samples = Enumerable.Range(0, 12).Select(i => Flat(i)).ToList();
        using var loader = new PhotoBatchLoader(new PhotoDecoder(8, Zero, One), samples, batchSize: 2, threads: 2, inFlight: 2);

        var buffers = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        foreach (var batch in loader.ReadAll())
        {
            buffers.Add(batch.Buffer);
            batch.Dispose();
        }

        Assert.Equal(2, buffers.Count);
    }

    [Fact]
    public void Should_stop_and_name_the_row_when_an_image_does_not_decode()
    {
        var samples = Enumerable.Range(0, 6).Select(i => i == 3 ? new PhotoSample(new byte[] { 1, 2, 3 }, "row-bad", PhotoCrop.Center) : Flat(i)).ToList();
        using var loader = new PhotoBatchLoader(new PhotoDecoder(8, Zero, One), samples, batchSize: 2, threads: 2);

        var error = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var batch in loader.ReadAll())
            {
                batch.Dispose();
            }
        });

        Assert.Contains("row-bad", error.Message);
    }
}
