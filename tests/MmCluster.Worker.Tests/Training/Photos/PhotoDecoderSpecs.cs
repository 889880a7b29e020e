using MmCluster.Worker.Training;
using MmCluster.Worker.Training.Photos;
using SkiaSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Training.Photos;

public sealed class PhotoDecoderSpecs
{
    internal static readonly float[] Zero = [0f, 0f, 0f];
    internal static readonly float[] One = [1f, 1f, 1f];

    internal static byte[] Encode(int width, int height, SKEncodedImageFormat format, Func<int, int, SKColor> color,
        SKColorType colorType = SKColorType.Rgba8888, SKAlphaType alpha = SKAlphaType.Unpremul)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, colorType, alpha));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, color(x, y));
            }
        }
        using var data = bitmap.Encode(format, 95);
        return data.ToArray();
    }

    private static SKColor Smooth(int x, int y) => new((byte)(x / 8), (byte)(y / 4), (byte)((x + y) / 12));

    [Fact]
    public void Should_decode_a_large_jpeg_at_the_smallest_dct_scale_that_still_covers_the_crop()
    {
        var jpeg = Encode(2048, 1024, SKEncodedImageFormat.Jpeg, Smooth);
        var output = new float[3 * 64 * 64];

        new PhotoDecoder(64, Zero, One).Decode(jpeg, output, "big", PhotoCrop.Center);

        Assert.Equal((256, 128), PhotoDecoder.LastDecodedSize);   // 1/8: the 64-pixel crop from 128 rows

        new PhotoDecoder(200, Zero, One).Decode(jpeg, new float[3 * 200 * 200], "big", PhotoCrop.Center);

        Assert.Equal((512, 256), PhotoDecoder.LastDecodedSize);   // 2/8: 1/8's 128 rows are under 200
    }

    [Fact]
    public void Should_give_what_a_full_size_decode_gives_within_a_level_or_two_when_decoding_scaled()
    {
        var png = Encode(2048, 1024, SKEncodedImageFormat.Png, Smooth);
        var jpeg = Encode(2048, 1024, SKEncodedImageFormat.Jpeg, Smooth);
        var (full, scaled) = (new float[3 * 64 * 64], new float[3 * 64 * 64]);
        var decoder = new PhotoDecoder(64, Zero, One);

        decoder.Decode(png, full, "png", PhotoCrop.Center);
        Assert.Equal((2048, 1024), PhotoDecoder.LastDecodedSize);
        decoder.Decode(jpeg, scaled, "jpeg", PhotoCrop.Center);

        var worst = full.Zip(scaled, (a, b) => Math.Abs(a - b) * 255).Max();
        Assert.True(worst <= 3, $"scaled JPEG differs from the full PNG by {worst:F2} levels");
    }

    [Fact]
    public void Should_repeat_a_training_crop_for_its_seed_and_vary_it_with_the_seed()
    {
        var jpeg = Encode(300, 260, SKEncodedImageFormat.Jpeg, (x, y) => new SKColor((byte)x, (byte)(y * 3), (byte)(x ^ y)));
        var decoder = new PhotoDecoder(32, Zero, One);
        var (a, b, c) = (new float[3 * 32 * 32], new float[3 * 32 * 32], new float[3 * 32 * 32]);

        decoder.Decode(jpeg, a, "k", PhotoCrop.Training(11));
        decoder.Decode(jpeg, b, "k", PhotoCrop.Training(11));
        decoder.Decode(jpeg, c, "k", PhotoCrop.Training(12));

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Should_give_three_equal_channels_when_the_jpeg_is_grey()
    {
        var grey = Encode(64, 48, SKEncodedImageFormat.Jpeg, (x, _) => new SKColor((byte)(x * 4), (byte)(x * 4), (byte)(x * 4)), SKColorType.Gray8, SKAlphaType.Opaque);
        var output = new float[3 * 16 * 16];

        new PhotoDecoder(16, Zero, One).Decode(grey, output, "grey", PhotoCrop.Center);

        Assert.Equal(output[..256], output[256..512]);
        Assert.Equal(output[..256], output[512..]);
        Assert.True(output[255] > output[0]);
    }

    [Fact]
    public void Should_drop_alpha_as_pillow_s_rgb_conversion_does_when_the_png_is_translucent()
    {
        var png = Encode(20, 20, SKEncodedImageFormat.Png, (_, _) => new SKColor(200, 100, 50, 64));
        var output = new float[3 * 8 * 8];

        new PhotoDecoder(8, Zero, One).Decode(png, output, "alpha", PhotoCrop.Center);

        Assert.All(output[..64], v => Assert.Equal(200 / 255f, v, 3));
        Assert.All(output[64..128], v => Assert.Equal(100 / 255f, v, 3));
        Assert.All(output[128..], v => Assert.Equal(50 / 255f, v, 3));
    }

    [Fact]
    public void Should_name_the_row_and_the_budget_when_the_header_claims_too_many_pixels()
    {
        var jpeg = Encode(64, 64, SKEncodedImageFormat.Jpeg, Smooth);

        var error = Assert.Throws<InvalidDataException>(() => new PhotoDecoder(16, Zero, One, maxPixels: 64 * 64 - 1).Decode(jpeg, new float[3 * 256], "train/77", PhotoCrop.Center));

        Assert.Contains("ImageTooManyPixels", error.Message);
        Assert.Contains("train/77", error.Message);
    }

    [Fact]
    public void Should_name_the_row_when_the_jpeg_ends_early()
    {
        var jpeg = Encode(256, 256, SKEncodedImageFormat.Jpeg, (x, y) => new SKColor((byte)(x * y), (byte)x, (byte)y));

        var error = Assert.Throws<InvalidDataException>(() => new PhotoDecoder(16, Zero, One).Decode(jpeg[..(jpeg.Length / 2)], new float[3 * 256], "train/78", PhotoCrop.Center));

        Assert.Contains("train/78", error.Message);
        Assert.Contains("IncompleteInput", error.Message);
    }

    [Fact]
    public void Should_use_the_photo_pipeline_for_clip_rgb_and_keep_the_grey_path_when_decoding_through_image_decoder()
    {
        var jpeg = Encode(300, 200, SKEncodedImageFormat.Jpeg, Smooth);
        var direct = new float[3 * 32 * 32];
        new PhotoDecoder(32, ImageDecoder.ClipMean, ImageDecoder.ClipStd).Decode(jpeg, direct, "k", PhotoCrop.Center);

        Assert.Equal(direct, ImageDecoder.ClipRgb(32).Decode(jpeg, "k"));
        Assert.Equal(784, ImageDecoder.FashionMnist.Decode(jpeg, "k").Length);
    }
}
