using System.Runtime.InteropServices;
using MmCluster.Shared.Manifest;
using SkiaSharp;

namespace MmCluster.Worker.Training.Photos;

/// <summary>
/// Encoded photo (JPEG, PNG, WebP; grey, RGB, RGBA, CMYK JPEG) to a normalized (3, S, S) square: the header is read
/// and checked against the pixel budget (<see cref="ImageCheck.OpenCodec"/>), the crop box chosen
/// (<see cref="PhotoCrop"/>), the image decoded at the smallest size its codec offers that still gives the box at
/// least S pixels each way (a 5640x3172 JPEG decodes at 1/8 via libjpeg's DCT scaling for a 224 centre crop), then
/// resampled (<see cref="PhotoResampler"/>). Thread-safe: each thread keeps its own decode buffer and scratch.
/// </summary>
public sealed class PhotoDecoder(int size, IReadOnlyList<float> mean, IReadOnlyList<float> std, long maxPixels = ManifestReadLimits.DefaultMaxImagePixels)
{
    [ThreadStatic]
    private static Scratch? scratch;

    private readonly float[] mean = mean.Count == 3 ? [.. mean] : throw new ArgumentException("a photo needs 3 means", nameof(mean));
    private readonly float[] std = std.Count == 3 && std.All(s => s > 0) ? [.. std] : throw new ArgumentException("a photo needs 3 positive stds", nameof(std));

    public int Size { get; } = size > 0 ? size : throw new ArgumentOutOfRangeException(nameof(size), size, "size must be positive");

    public long MaxPixels { get; } = maxPixels;

    public int ValuesPerImage => 3 * Size * Size;

    /// <summary>The size this thread last decoded an image at (which DCT scale was chosen), for specs and diagnostics.</summary>
    public static (int Width, int Height) LastDecodedSize => scratch?.Decoded ?? (0, 0);

    /// <param name="key">The row's key, named in errors.</param>
    public void Decode(ReadOnlySpan<byte> encoded, Span<float> destination, string key, PhotoCrop crop)
    {
        if (destination.Length != ValuesPerImage)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, expected {ValuesPerImage}", nameof(destination));
        }
        var what = $"row '{key}'";
        using var data = SKData.CreateCopy(encoded);
        using var codec = ImageCheck.OpenCodec(data, MaxPixels, what);
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        var box = crop.BoxIn(width, height, Size);
        var decoded = DecodeSize(codec, box);
        var info = new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var state = scratch ??= new Scratch();
        state.Decoded = (decoded.Width, decoded.Height);
        var pixels = state.Pixels(info.BytesSize);
        var result = codec.GetPixels(info, Marshal.UnsafeAddrOfPinnedArrayElement(pixels, 0));
        ImageCheck.EnsureComplete(result, codec, what);
        var scaled = box.Scaled((double)decoded.Width / width, (double)decoded.Height / height);
        state.Resampler.Resample(pixels.AsSpan(0, info.BytesSize), decoded.Width, decoded.Height, info.RowBytes, scaled, Size, mean, std, destination);
    }

    /// <summary>The smallest scaled size the codec decodes to whose copy of the box is at least <see cref="Size"/> each way; the full size when none is smaller.</summary>
    private SKSizeI DecodeSize(SKCodec codec, SourceBox box)
    {
        var full = codec.Info.Size;
        for (var eighths = 1; eighths < 8; eighths++)
        {
            var scaled = codec.GetScaledDimensions(eighths / 8f);
            if (scaled.Width >= full.Width || scaled.Height >= full.Height)
            {
                return full;  // no DCT scaling (PNG, WebP): decode whole
            }
            if (box.Width * scaled.Width / full.Width >= Size && box.Height * scaled.Height / full.Height >= Size)
            {
                return scaled;
            }
        }
        return full;
    }

    private sealed class Scratch
    {
        private byte[] pixels = [];

        public PhotoResampler Resampler { get; } = new();

        public (int Width, int Height) Decoded { get; set; }

        /// <summary>A pinned buffer of at least <paramref name="bytes"/>, kept for the thread's next image.</summary>
        public byte[] Pixels(int bytes)
        {
            if (pixels.Length < bytes)
            {
                pixels = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
            }
            return pixels;
        }
    }
}
