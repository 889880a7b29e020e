using MmCluster.Shared.Manifest;
using MmCluster.Worker.Training.Photos;

namespace MmCluster.Worker.Training;

/// <summary>
/// Random translation of a training image by up to N pixels each way (the usual augmentation of small grey images such as
/// Fashion-MNIST: pad by N, crop back at a random offset), the uncovered border filled with black. The offset of a row
/// depends only on (the run's seed, the row's epoch, its key), like the photo pipeline's crop, so every rank and every
/// replay of a row sees the same pixels.
/// </summary>
public static class ImageShift
{
    /// <summary>Kept apart from the crop's draws (<see cref="PhotoTransform.SampleSeed"/> of the same row).</summary>
    private const ulong Stream = 0x5348494654UL;   // "SHIFT"

    /// <summary>The row's offset: each of dx, dy uniform in [-<paramref name="maxShift"/>, <paramref name="maxShift"/>].</summary>
    public static (int Dx, int Dy) Draw(ulong runSeed, int epoch, string key, int maxShift)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxShift);
        var random = new SplitMix64(PhotoTransform.SampleSeed(runSeed ^ Stream, epoch, key));
        var dx = random.NextInt((2 * maxShift) + 1) - maxShift;
        var dy = random.NextInt((2 * maxShift) + 1) - maxShift;
        return (dx, dy);
    }

    /// <summary>
    /// Moves a (channels, size, size) image by (<paramref name="dx"/>, <paramref name="dy"/>) in place: the pixel at
    /// (x, y) goes to (x + dx, y + dy); pixels with no source take <paramref name="fill"/> of their channel.
    /// </summary>
    public static void Apply(Span<float> image, int channels, int size, int dx, int dy, IReadOnlyList<float> fill)
    {
        if (image.Length != channels * size * size || fill.Count != channels)
        {
            throw new ArgumentException($"expected {channels}x{size}x{size} values and {channels} fill value(s), got {image.Length} and {fill.Count}");
        }
        if (dx == 0 && dy == 0)
        {
            return;
        }
        var plane = new float[size * size];
        for (var c = 0; c < channels; c++)
        {
            var channel = image.Slice(c * size * size, size * size);
            channel.CopyTo(plane);
            channel.Fill(fill[c]);
            for (var y = Math.Max(0, dy); y < Math.Min(size, size + dy); y++)
            {
                var from = (y - dy) * size;
                var x0 = Math.Max(0, dx);
                var width = size - Math.Abs(dx);
                if (width > 0)
                {
                    plane.AsSpan(from + x0 - dx, width).CopyTo(channel.Slice((y * size) + x0, width));
                }
            }
        }
    }
}
