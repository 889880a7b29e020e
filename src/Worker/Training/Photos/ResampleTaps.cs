namespace MmCluster.Worker.Training.Photos;

/// <summary>
/// One axis of a bicubic resample as Pillow computes it (<c>Resample.c</c>, <c>precompute_coeffs</c>): for each output
/// pixel the first input pixel it reads and normalized weights of the Catmull-Rom cubic (a = -0.5), the kernel widened
/// by the reduction factor when shrinking (antialiasing), taps clamped to the image. <see cref="Weights"/> holds
/// <see cref="Span"/> weights per output pixel, zero past that pixel's <see cref="Count"/>.
/// </summary>
public sealed class ResampleTaps
{
    private const double Support = 2.0;
    private const double A = -0.5;

    private ResampleTaps(int[] first, int[] count, float[] weights, int span)
    {
        First = first;
        Count = count;
        Weights = weights;
        Span = span;
        Low = first.Min();
        High = first.Zip(count, (f, c) => f + c).Max();
    }

    public int[] First { get; }

    public int[] Count { get; }

    public float[] Weights { get; }

    /// <summary>Weights stored per output pixel (the widest tap count).</summary>
    public int Span { get; }

    /// <summary>Lowest input index any output reads.</summary>
    public int Low { get; }

    /// <summary>One past the highest input index any output reads.</summary>
    public int High { get; }

    /// <summary>
    /// Taps resampling [<paramref name="from"/>, <paramref name="to"/>) of an axis of <paramref name="inSize"/> pixels onto
    /// <paramref name="outSize"/> pixels.
    /// </summary>
    public static ResampleTaps Bicubic(int inSize, double from, double to, int outSize)
    {
        if (inSize < 1 || outSize < 1 || !(to > from))
        {
            throw new ArgumentOutOfRangeException(nameof(inSize), $"cannot resample [{from}, {to}) of {inSize} pixels onto {outSize}");
        }
        var scale = (to - from) / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = Support * filterScale;
        var span = (int)Math.Ceiling(support) * 2 + 1;
        var first = new int[outSize];
        var count = new int[outSize];
        var weights = new float[outSize * span];
        var kernel = new double[span];
        for (var xx = 0; xx < outSize; xx++)
        {
            var center = from + ((xx + 0.5) * scale);
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            xmax = Math.Clamp(xmax, 0, span);
            var total = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                kernel[x] = Cubic((x + xmin - center + 0.5) / filterScale);
                total += kernel[x];
            }
            if (xmax == 0 || total == 0)
            {
                // The box lies past the image's edge (rounding at the border): read the nearest pixel.
                (xmin, xmax, kernel[0], total) = (Math.Clamp((int)center, 0, inSize - 1), 1, 1.0, 1.0);
            }
            first[xx] = xmin;
            count[xx] = xmax;
            for (var x = 0; x < xmax; x++)
            {
                weights[(xx * span) + x] = (float)(kernel[x] / total);
            }
        }
        return new ResampleTaps(first, count, weights, span);
    }

    /// <summary>Pillow's bicubic kernel (Keys' cubic convolution with a = -0.5).</summary>
    public static double Cubic(double x)
    {
        x = Math.Abs(x);
        return x < 1 ? (((A + 2) * x) - (A + 3)) * x * x + 1
            : x < 2 ? ((((x - 5) * x) + 8) * x - 4) * A
            : 0;
    }
}
