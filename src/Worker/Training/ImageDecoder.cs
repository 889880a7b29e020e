using MmCluster.Shared.Manifest;
using MmCluster.Worker.Training.Photos;
using SkiaSharp;

namespace MmCluster.Worker.Training;

/// <summary>
/// Decodes PNG or JPEG bytes (SkiaSharp) into the model's input, scaled to [0, 1] and normalized per channel, written in
/// (C, H, W) order. Grayscale (ITU-R 601 luma, Fashion-MNIST's path) is resized to Size x Size (bilinear); RGB goes
/// through the photo pipeline (<see cref="PhotoDecoder"/>): OpenCLIP's centre crop, or with a <see cref="PhotoCrop"/>
/// its training random-resized-crop, bicubic, JPEGs decoded scaled down. An image whose
/// header claims more than <see cref="MaxPixels"/> is refused before decoding, and one the decoder does not finish with
/// Success (damaged, ends early) is refused too (<see cref="ImageCheck.Decode"/>).
/// </summary>
public sealed class ImageDecoder
{
    private readonly float[] mean;
    private readonly float[] std;
    private readonly PhotoDecoder? photo;

    public ImageDecoder(int channels, int size, IReadOnlyList<float> mean, IReadOnlyList<float> std, long maxPixels = ManifestReadLimits.DefaultMaxImagePixels)
    {
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 (grayscale) or 3 (RGB)");
        }
        if (size < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "size must be positive");
        }
        if (mean.Count != channels || std.Count != channels || std.Any(s => s <= 0))
        {
            throw new ArgumentException($"mean and std need {channels} value(s) each, std positive");
        }
        Channels = channels;
        Size = size;
        MaxPixels = maxPixels;
        this.mean = [.. mean];
        this.std = [.. std];
        photo = channels == 3 ? new PhotoDecoder(size, mean, std, maxPixels) : null;
    }

    /// <summary>What a black pixel becomes in each channel after normalization (the fill of a shifted image's border).</summary>
    public IReadOnlyList<float> Black => [.. mean.Zip(std, (m, s) => -m / s)];

    /// <summary>Fashion-MNIST: 1x28x28, its training set's mean and standard deviation.</summary>
    public static ImageDecoder FashionMnist { get; } = new(1, 28, [0.2860f], [0.3530f]);

    /// <summary>OpenAI CLIP's RGB normalization at a given size.</summary>
    public static ImageDecoder ClipRgb(int size) => new(3, size, ClipMean, ClipStd);

    /// <summary>OpenAI CLIP's per-channel RGB mean (OpenCLIP's OPENAI_DATASET_MEAN).</summary>
    public static IReadOnlyList<float> ClipMean { get; } = [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>OpenAI CLIP's per-channel RGB standard deviation (OpenCLIP's OPENAI_DATASET_STD).</summary>
    public static IReadOnlyList<float> ClipStd { get; } = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>The decoder of an image encoder: Fashion-MNIST's grey 28x28, or CLIP's RGB at its size.</summary>
    public static ImageDecoder For(Model.ClipConfig vision) =>
        vision is { ImageChannels: 1, ImageSize: 28 } ? FashionMnist : ClipRgb(vision.ImageSize);

    /// <summary>This decoder with the pixel budget of <paramref name="limits"/>, the same the manifest reader checked.</summary>
    public ImageDecoder Within(ManifestReadLimits limits) =>
        limits.MaxImagePixels == MaxPixels ? this : new(Channels, Size, mean, std, limits.MaxImagePixels);

    public int Channels { get; }

    public int Size { get; }

    /// <summary>Largest width·height an encoded image may claim.</summary>
    public long MaxPixels { get; }

    /// <summary>Floats per image: C·H·W.</summary>
    public int ValuesPerImage => Channels * Size * Size;

    public float[] Decode(ReadOnlySpan<byte> encoded, string key = "?")
    {
        var values = new float[ValuesPerImage];
        Decode(encoded, values, key);
        return values;
    }

    /// <param name="key">The row's key, named in errors.</param>
    public void Decode(ReadOnlySpan<byte> encoded, Span<float> destination, string key = "?") =>
        Decode(encoded, destination, key, PhotoCrop.Center);

    /// <summary>As <see cref="Decode(ReadOnlySpan{byte}, Span{float}, string)"/>; an RGB image is cropped as <paramref name="crop"/> says (grey images ignore it).</summary>
    public void Decode(ReadOnlySpan<byte> encoded, Span<float> destination, string key, PhotoCrop crop)
    {
        if (destination.Length != ValuesPerImage)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, expected {ValuesPerImage}", nameof(destination));
        }
        if (photo is not null)
        {
            photo.Decode(encoded, destination, key, crop);
            return;
        }
        using var decoded = ImageCheck.Decode(encoded, MaxPixels, $"row '{key}'");
        var info = new SKImageInfo(Size, Size, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var rgba = new SKBitmap(info);
        using (var canvas = new SKCanvas(rgba))
        {
            using var image = SKImage.FromBitmap(decoded);
            canvas.Clear(SKColors.Black);
            canvas.DrawImage(image, new SKRect(0, 0, Size, Size), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
        }
        var bytes = rgba.GetPixelSpan();
        for (var p = 0; p < Size * Size; p++)
        {
            var (r, g, b) = (bytes[4 * p], bytes[(4 * p) + 1], bytes[(4 * p) + 2]);
            var luma = ((0.299f * r) + (0.587f * g) + (0.114f * b)) / 255f;
            destination[p] = (luma - mean[0]) / std[0];
        }
    }
}
