using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MmCluster.Worker.Training.Photos;

/// <summary>
/// Resamples a box of an RGBA image (8 bits a channel, as SkiaSharp decodes) onto a size x size square with Pillow's
/// antialiased bicubic, each pass clamped to [0, 255] as Pillow's 8-bit passes are, then writes it as torchvision's <c>ToTensor</c> + <c>Normalize</c> would: (3, size, size) planes,
/// each value <c>(v / 255 - mean) / std</c>. Horizontal pass first (only the rows and columns the box's taps read), in
/// float, one 128-bit vector per pixel; then the vertical pass over whole rows with <see cref="Vector{T}"/>. Alpha is
/// dropped, as Pillow's <c>convert("RGB")</c> drops it. Holds its scratch rows: one instance per thread.
/// </summary>
public sealed class PhotoResampler
{
    private float[] row = [];
    private float[] horizontal = [];
    private float[] accumulator = [];

    public void Resample(
        ReadOnlySpan<byte> rgba, int width, int height, int stride, SourceBox box, int size,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> std, Span<float> destination)
    {
        if (mean.Length != 3 || std.Length != 3 || destination.Length != 3 * size * size)
        {
            throw new ArgumentException($"need 3 means, 3 stds and {3 * size * size} destination floats");
        }
        if (stride < width * 4 || rgba.Length < ((long)(height - 1) * stride) + (width * 4))
        {
            throw new ArgumentException($"{rgba.Length} bytes cannot hold {width}x{height} RGBA rows of {stride} bytes", nameof(rgba));
        }
        var xs = ResampleTaps.Bicubic(width, box.X0, box.X1, size);
        var ys = ResampleTaps.Bicubic(height, box.Y0, box.Y1, size);
        var (xLow, xHigh, yLow, yHigh) = (xs.Low, xs.High, ys.Low, ys.High);
        var rowFloats = (xHigh - xLow) * 4;
        var lineFloats = size * 4;
        Grow(ref row, rowFloats);
        Grow(ref horizontal, (yHigh - yLow) * lineFloats);
        Grow(ref accumulator, lineFloats);
        for (var y = yLow; y < yHigh; y++)
        {
            Widen(rgba.Slice((y * stride) + (xLow * 4), rowFloats), row);
            Horizontal(row, xs, xLow, horizontal.AsSpan((y - yLow) * lineFloats, lineFloats));
        }
        var plane = size * size;
        Span<float> scale = [1f / (255f * std[0]), 1f / (255f * std[1]), 1f / (255f * std[2])];
        Span<float> shift = [-mean[0] / std[0], -mean[1] / std[1], -mean[2] / std[2]];
        var acc = accumulator.AsSpan(0, lineFloats);
        for (var oy = 0; oy < size; oy++)
        {
            acc.Clear();
            var (first, count) = (ys.First[oy] - yLow, ys.Count[oy]);
            for (var k = 0; k < count; k++)
            {
                AddScaled(acc, horizontal.AsSpan((first + k) * lineFloats, lineFloats), ys.Weights[(oy * ys.Span) + k]);
            }
            for (var c = 0; c < 3; c++)
            {
                var output = destination.Slice((c * plane) + (oy * size), size);
                var (mul, add) = (scale[c], shift[c]);
                for (var ox = 0; ox < size; ox++)
                {
                    output[ox] = (Math.Clamp(acc[(ox * 4) + c], 0f, 255f) * mul) + add;
                }
            }
        }
    }

    private static void Grow(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new float[length];
        }
    }

    private static void Widen(ReadOnlySpan<byte> bytes, Span<float> floats)
    {
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            ref var src = ref MemoryMarshal.GetReference(bytes);
            ref var dst = ref MemoryMarshal.GetReference(floats);
            for (; i + 16 <= bytes.Length; i += 16)
            {
                var (low, high) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                var (a, b) = Vector128.Widen(low);
                var (c, d) = Vector128.Widen(high);
                Vector128.ConvertToSingle(a).StoreUnsafe(ref dst, (nuint)i);
                Vector128.ConvertToSingle(b).StoreUnsafe(ref dst, (nuint)(i + 4));
                Vector128.ConvertToSingle(c).StoreUnsafe(ref dst, (nuint)(i + 8));
                Vector128.ConvertToSingle(d).StoreUnsafe(ref dst, (nuint)(i + 12));
            }
        }
        for (; i < bytes.Length; i++)
        {
            floats[i] = bytes[i];
        }
    }

    private static void Horizontal(ReadOnlySpan<float> row, ResampleTaps xs, int xLow, Span<float> line)
    {
        ref var src = ref MemoryMarshal.GetReference(row);
        ref var dst = ref MemoryMarshal.GetReference(line);
        ref var weights = ref MemoryMarshal.GetArrayDataReference(xs.Weights);
        for (var ox = 0; ox < xs.First.Length; ox++)
        {
            var acc = Vector128<float>.Zero;
            var start = (nuint)((xs.First[ox] - xLow) * 4);
            ref var w = ref Unsafe.Add(ref weights, ox * xs.Span);
            for (var k = 0; k < xs.Count[ox]; k++)
            {
                acc += Vector128.LoadUnsafe(ref src, start + (nuint)(k * 4)) * Vector128.Create(Unsafe.Add(ref w, k));
            }
            Vector128.Clamp(acc, Vector128<float>.Zero, Vector128.Create(255f)).StoreUnsafe(ref dst, (nuint)(ox * 4));
        }
    }

    private static void AddScaled(Span<float> acc, ReadOnlySpan<float> line, float weight)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var w = new Vector<float>(weight);
            var accs = MemoryMarshal.Cast<float, Vector<float>>(acc);
            var lines = MemoryMarshal.Cast<float, Vector<float>>(line);
            for (var v = 0; v < accs.Length; v++)
            {
                accs[v] += lines[v] * w;
            }
            i = accs.Length * Vector<float>.Count;
        }
        for (; i < acc.Length; i++)
        {
            acc[i] += line[i] * weight;
        }
    }
}
