using MmCluster.Shared.Manifest;
using MmCluster.Worker.Training;
using SkiaSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

public sealed class ImageDecoderSpecs
{
    internal static byte[] Png(int size, Func<int, int, SKColor> color)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                bitmap.SetPixel(x, y, color(x, y));
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    [Fact]
    public void Should_return_normalized_gray_values_when_png_has_the_model_size()
    {
        var png = Png(28, (x, y) => new SKColor((byte)(x * 9), (byte)(x * 9), (byte)(x * 9)));

        var values = ImageDecoder.FashionMnist.Decode(png);

        Assert.Equal(784, values.Length);
        for (var x = 0; x < 28; x++)
        {
            Assert.Equal(((x * 9 / 255f) - 0.2860f) / 0.3530f, values[(5 * 28) + x], 4);
        }
    }

    [Fact]
    public void Should_resize_and_split_channels_when_decoding_rgb()
    {
        var png = Png(32, (_, _) => new SKColor(255, 0, 128));
        var decoder = new ImageDecoder(3, 8, [0f, 0f, 0f], [1f, 1f, 1f]);

        var values = decoder.Decode(png);

        Assert.Equal(3 * 64, values.Length);
        Assert.All(values[..64], v => Assert.Equal(1f, v, 3));
        Assert.All(values[64..128], v => Assert.Equal(0f, v, 3));
        Assert.All(values[128..], v => Assert.Equal(128 / 255f, v, 3));
    }

    [Fact]
    public void Should_name_the_row_when_bytes_are_not_an_image()
    {
        var error = Assert.Throws<InvalidDataException>(() => ImageDecoder.FashionMnist.Decode(new byte[] { 1, 2, 3 }, "train/00042"));
        Assert.Contains("train/00042", error.Message);
    }

    [Fact]
    public void Should_refuse_before_decoding_when_the_header_claims_more_pixels_than_the_budget()
    {
        var decoder = new ImageDecoder(1, 8, [0f], [1f], maxPixels: 32 * 32 - 1);

        var error = Assert.Throws<InvalidDataException>(() => decoder.Decode(Png(32, (_, _) => SKColors.Gray), "train/7"));

        Assert.Contains("ImageTooManyPixels", error.Message);
        Assert.Contains("train/7", error.Message);
    }

    [Fact]
    public void Should_decode_what_the_spec_s_raised_pixel_budget_lets_the_reader_accept_when_made_within_its_limits()
    {
        var png = Png(32, (_, _) => SKColors.Gray);
        var strict = new ImageDecoder(1, 8, [0f], [1f], maxPixels: 32 * 32 - 1);

        var raised = strict.Within(new ManifestReadLimits { MaxImagePixels = 32 * 32 });

        Assert.Null(ImageCheck.Check(png, 32 * 32, out _));
        Assert.Equal(64, raised.Decode(png, "train/9").Length);
        Assert.Throws<InvalidDataException>(() => strict.Decode(png, "train/9"));
    }

    [Fact]
    public void Should_refuse_with_the_decoder_result_when_the_body_ends_early()
    {
        var png = Png(28, (x, y) => new SKColor((byte)(x * y), (byte)(x * 9), (byte)(y * 9)));

        var error = Assert.Throws<InvalidDataException>(() => ImageDecoder.FashionMnist.Decode(png[..(png.Length * 2 / 3)], "train/8"));

        Assert.Contains("IncompleteInput", error.Message);
    }
}
