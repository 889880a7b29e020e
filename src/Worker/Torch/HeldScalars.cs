using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Torch;

/// <summary>
/// Tensor arithmetic with numbers, without a Scalar the GC can free while libtorch reads it. TorchSharp 0.107 passes a
/// Scalar's handle to libtorch and keeps no reference to the object during the call, so every temporary Scalar is at risk:
/// a number converted implicitly (<c>x * 0.5</c>, <c>x.lt(3)</c>, <c>full(shape, 7)</c>) and the alpha of 1 that
/// TorchSharp makes inside <c>a + b</c>, <c>add</c>, <c>add_</c> and <c>arange(n)</c>. A GC during the call lets the
/// finalizer free it: the step fails ("toFloat" in THSTensor_add) or reads another value (docs/fault-tolerance.md,
/// "libtorch step failures"). Here every Scalar is a constant of the process or a local disposed after the call.
/// <c>HeldScalarSpecs</c> scans the worker's code for any other.
/// </summary>
public static class HeldScalars
{
    public static readonly Scalar Zero = 0L.ToScalar();

    public static readonly Scalar One = 1L.ToScalar();

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a + value</c>.</summary>
    public static Tensor Plus(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.add(s, One);
    }

    /// <summary><c>a += b</c> in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><c>a += value</c> in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.add_(s, One);
    }

    /// <summary><c>a - value</c>.</summary>
    public static Tensor Minus(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.sub(s);
    }

    /// <summary><c>a · value</c>.</summary>
    public static Tensor Times(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.mul(s);
    }

    /// <summary><c>a / value</c>.</summary>
    public static Tensor Over(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.div(s);
    }

    public static Tensor Less(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.lt(s);
    }

    public static Tensor AtLeast(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.ge(s);
    }

    public static Tensor Greater(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.gt(s);
    }

    public static Tensor EqualTo(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.eq(s);
    }

    public static Tensor NotEqualTo(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.ne(s);
    }

    /// <summary>Clamps in place to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Tensor ClampInPlace(this Tensor a, double min, double max)
    {
        using var lo = min.ToScalar();
        using var hi = max.ToScalar();
        return a.clamp_(lo, hi);
    }

    public static Tensor ClampMax(this Tensor a, double max)
    {
        using var hi = max.ToScalar();
        return a.clamp_max(hi);
    }

    public static Tensor FillInPlace(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.fill_(s);
    }

    public static Tensor IndexFillInPlace(this Tensor a, long dim, Tensor index, double value)
    {
        using var s = value.ToScalar();
        return a.index_fill_(dim, index, s);
    }

    /// <summary>0, 1, ..., <paramref name="count"/> - 1 as int64.</summary>
    public static Tensor Range(long count, Device? device)
    {
        using var stop = count.ToScalar();
        return arange(Zero, stop, One, ScalarType.Int64, device);
    }

    /// <summary>An int64 tensor of <paramref name="shape"/> filled with <paramref name="value"/>.</summary>
    public static Tensor Filled(long[] shape, long value, Device? device)
    {
        using var s = value.ToScalar();
        return full(shape, s, ScalarType.Int64, device);
    }
}
