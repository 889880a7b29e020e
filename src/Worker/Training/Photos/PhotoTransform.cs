using MmCluster.Shared.Manifest;

namespace MmCluster.Worker.Training.Photos;

/// <summary>
/// Where OpenCLIP's image transforms take an output square from, as pure arithmetic on the image's width and height
/// (open_clip <c>transform.py</c>, <c>image_transform</c>):
/// evaluation is <c>Resize(S, BICUBIC)</c> on the shorter side then <c>CenterCrop(S)</c>; training is
/// <c>RandomResizedCrop(S, scale=(0.9, 1.0), ratio=(3/4, 4/3), BICUBIC)</c> (OpenCLIP's <c>AugmentationCfg</c> default
/// scale; torchvision's ratio and its ten-tries-then-centre <c>get_params</c>), drawn from a per-sample seed so a
/// sample's crop is the same on every machine and every run.
/// </summary>
public static class PhotoTransform
{
    public const double DefaultMinScale = 0.9;
    public const double DefaultMaxScale = 1.0;
    public const double MinRatio = 3.0 / 4;
    public const double MaxRatio = 4.0 / 3;

    /// <summary>torchvision's <c>Resize(size)</c> of a width x height image: the shorter side becomes size, the longer one scales and truncates.</summary>
    public static (int Width, int Height) ShorterSideTo(int width, int height, int size)
    {
        Check(width, height, size);
        return width <= height
            ? (size, (int)((long)size * height / width))
            : ((int)((long)size * width / height), size);
    }

    /// <summary>
    /// The evaluation transform's box: the image resized so its shorter side is <paramref name="size"/>, then the centred
    /// size x size square (torchvision's <c>CenterCrop</c>: offsets <c>int(round((resized - size) / 2))</c>), mapped back
    /// to the image's own pixels.
    /// </summary>
    public static SourceBox CenterCrop(int width, int height, int size)
    {
        var (rw, rh) = ShorterSideTo(width, height, size);
        var left = (int)Math.Round((rw - size) / 2.0, MidpointRounding.ToEven);
        var top = (int)Math.Round((rh - size) / 2.0, MidpointRounding.ToEven);
        var (sx, sy) = ((double)width / rw, (double)height / rh);
        return new SourceBox(left * sx, top * sy, (left + size) * sx, (top + size) * sy);
    }

    /// <summary>
    /// The training transform's crop (torchvision <c>RandomResizedCrop.get_params</c>): up to ten draws of an area fraction
    /// in [minScale, maxScale] and a log-uniform aspect ratio in [3/4, 4/3] until the box fits, then a uniform position;
    /// after ten misses the centred box of the image clamped to that ratio range.
    /// </summary>
    public static SourceBox RandomResizedCrop(int width, int height, ulong seed, double minScale = DefaultMinScale, double maxScale = DefaultMaxScale)
    {
        Check(width, height, 1);
        if (minScale <= 0 || maxScale < minScale || maxScale > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(minScale), $"scale range ({minScale}, {maxScale}) must lie in (0, 1] and be ordered");
        }
        var random = new SplitMix64(seed);
        var area = (double)width * height;
        var (logLow, logHigh) = (Math.Log(MinRatio), Math.Log(MaxRatio));
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var target = area * Uniform(ref random, minScale, maxScale);
            var ratio = Math.Exp(Uniform(ref random, logLow, logHigh));
            var w = (int)Math.Round(Math.Sqrt(target * ratio), MidpointRounding.ToEven);
            var h = (int)Math.Round(Math.Sqrt(target / ratio), MidpointRounding.ToEven);
            if (w > 0 && h > 0 && w <= width && h <= height)
            {
                var top = random.NextInt(height - h + 1);
                var left = random.NextInt(width - w + 1);
                return new SourceBox(left, top, left + w, top + h);
            }
        }
        var inRatio = (double)width / height;
        var (cw, ch) = inRatio < MinRatio ? (width, (int)Math.Round(width / MinRatio, MidpointRounding.ToEven))
            : inRatio > MaxRatio ? ((int)Math.Round(height * MaxRatio, MidpointRounding.ToEven), height)
            : (width, height);
        var (x, y) = ((width - cw) / 2, (height - ch) / 2);
        return new SourceBox(x, y, x + cw, y + ch);
    }

    /// <summary>A sample's crop seed from the run's seed, the epoch and the sample's key (stable across machines).</summary>
    public static ulong SampleSeed(ulong runSeed, int epoch, string key) =>
        SplitMix64.Mix(SplitMix64.Mix(runSeed ^ ((ulong)epoch << 32)) ^ SplitMix64.Fnv1a(key));

    private static double Uniform(ref SplitMix64 random, double low, double high) =>
        low + ((high - low) * SplitMix64.ToUnit(random.Next()));

    private static void Check(int width, int height, int size)
    {
        if (width < 1 || height < 1 || size < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"{width}x{height} to {size}: sizes must be positive");
        }
    }
}
