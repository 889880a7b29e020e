using MmCluster.Worker.Training.Photos;
using Xunit;

namespace MmCluster.Worker.Tests.Training.Photos;

public sealed class PhotoResamplerSpecs
{
    private static readonly float[] Zero = PhotoDecoderSpecs.Zero;
    private static readonly float[] One = PhotoDecoderSpecs.One;

    /// <summary>The pattern bench/input_torchvision.py's golden case draws: (x·29 + y·7, x·13 + y·31, x² + 5y²) mod 256.</summary>
    internal static byte[] Pattern(int width, int height)
    {
        var rgba = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var p = ((y * width) + x) * 4;
                (rgba[p], rgba[p + 1], rgba[p + 2], rgba[p + 3]) = ((byte)((x * 29) + (y * 7)), (byte)((x * 13) + (y * 31)), (byte)((x * x) + (y * y * 5)), 255);
            }
        }
        return rgba;
    }

    // torchvision 0.14 + Pillow 9.4: Compose([Resize(S, BICUBIC), CenterCrop(S), ToTensor()]) of Pattern, times 255, rounded
    public static TheoryData<int, int, int, int[]> TorchvisionGoldens => new()
    {
        {
            9, 6, 4,
            [52, 97, 139, 184, 62, 107, 149, 194, 73, 118, 160, 208, 83, 128, 170, 225,
             31, 52, 70, 91, 75, 96, 114, 135, 124, 145, 163, 184, 168, 189, 207, 235,
             4, 12, 23, 41, 18, 26, 37, 55, 57, 65, 76, 94, 114, 122, 133, 151]
        },
        {
            40, 30, 8,
            [171, 94, 149, 121, 121, 142, 95, 173, 176, 81, 169, 91, 150, 124, 121, 149, 162, 84, 172, 76, 173, 96, 152, 117,
             133, 105, 161, 83, 177, 81, 172, 89, 101, 136, 141, 108, 161, 87, 172, 77, 79, 164, 108, 138, 131, 110, 152, 85,
             83, 176, 84, 164, 98, 142, 128, 112, 95, 168, 81, 172, 78, 166, 105, 142,
             125, 177, 159, 100, 72, 130, 176, 159, 152, 101, 84, 132, 174, 157, 92, 89, 90, 144, 178, 132, 88, 95, 149, 174,
             166, 123, 84, 104, 161, 171, 126, 79, 77, 119, 169, 164, 101, 82, 123, 170, 173, 145, 94, 88, 136, 175, 150, 95,
             91, 92, 150, 176, 133, 83, 97, 155, 153, 179, 121, 77, 99, 159, 183, 125,
             48, 118, 168, 91, 142, 125, 116, 116, 133, 143, 122, 136, 120, 135, 123, 124, 110, 130, 122, 137, 130, 111, 120, 122,
             136, 114, 130, 132, 121, 120, 123, 121, 117, 132, 130, 122, 128, 126, 124, 120, 143, 115, 122, 128, 119, 129, 129, 123,
             108, 166, 129, 120, 128, 131, 127, 132, 102, 172, 133, 123, 133, 128, 134, 134]
        },
    };

    [Theory]
    [MemberData(nameof(TorchvisionGoldens))]
    public void Should_match_torchvision_s_eval_transform_within_one_level_when_resampling_a_pattern(int width, int height, int size, int[] expected)
    {
        var output = new float[3 * size * size];

        new PhotoResampler().Resample(Pattern(width, height), width, height, width * 4, PhotoTransform.CenterCrop(width, height, size), size, Zero, One, output);

        for (var i = 0; i < output.Length; i++)
        {
            Assert.True(Math.Abs((output[i] * 255) - expected[i]) <= 1.0, $"value {i}: {output[i] * 255:F2}, torchvision {expected[i]}");
        }
    }

    [Fact]
    public void Should_normalize_with_mean_and_std_and_keep_a_flat_colour_flat_when_shrinking()
    {
        var rgba = new byte[50 * 30 * 4];
        for (var p = 0; p < rgba.Length; p += 4)
        {
            (rgba[p], rgba[p + 1], rgba[p + 2], rgba[p + 3]) = (255, 0, 51, 7);
        }
        var output = new float[3 * 16 * 16];
        float[] mean = [0.5f, 0.25f, 0.1f];
        float[] std = [0.5f, 0.25f, 0.2f];

        new PhotoResampler().Resample(rgba, 50, 30, 200, PhotoTransform.CenterCrop(50, 30, 16), 16, mean, std, output);

        Assert.All(output[..256], v => Assert.Equal((1f - 0.5f) / 0.5f, v, 4));
        Assert.All(output[256..512], v => Assert.Equal((0f - 0.25f) / 0.25f, v, 4));
        Assert.All(output[512..], v => Assert.Equal((0.2f - 0.1f) / 0.2f, v, 4));
    }

    [Fact]
    public void Should_read_rows_through_the_stride_when_rows_are_padded()
    {
        var tight = Pattern(12, 10);
        var padded = new byte[10 * 64];
        for (var y = 0; y < 10; y++)
        {
            tight.AsSpan(y * 48, 48).CopyTo(padded.AsSpan(y * 64));
        }
        var (a, b) = (new float[3 * 36], new float[3 * 36]);
        var box = PhotoTransform.RandomResizedCrop(12, 10, 5);

        new PhotoResampler().Resample(tight, 12, 10, 48, box, 6, Zero, One, a);
        new PhotoResampler().Resample(padded, 12, 10, 64, box, 6, Zero, One, b);

        Assert.Equal(a, b);
    }
}
