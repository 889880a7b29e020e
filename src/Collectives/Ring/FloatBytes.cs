using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// Zero-copy byte views of float buffers for <c>UnsafeByteOperations.UnsafeWrap</c>, and the element-wise kernels the
/// ring applies to received chunks (copy, add, add-then-divide), vectorised with <see cref="Vector{T}"/> and compiled fully
/// optimised at their first call (AggressiveOptimization, as <c>BFloat16Bits</c>' kernels).
/// </summary>
internal static class FloatBytes
{
    public static ReadOnlyMemory<byte> AsBytes(ReadOnlyMemory<float> floats)
    {
        return floats.IsEmpty ? ReadOnlyMemory<byte>.Empty : new ByteView(MemoryMarshal.AsMemory(floats)).Memory;
    }

    /// <summary>dest = a + b, element-wise; dest may be the same memory as b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dest)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = MemoryMarshal.Cast<float, Vector<float>>(a);
            var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
            var vd = MemoryMarshal.Cast<float, Vector<float>>(dest);
            for (var v = 0; v < va.Length; v++)
            {
                vd[v] = va[v] + vb[v];
            }
            i = va.Length * Vector<float>.Count;
        }
        for (; i < a.Length; i++)
        {
            dest[i] = a[i] + b[i];
        }
    }

    /// <summary>dest = (a + b) / divisor, element-wise (a true division, so the mean matches a naive sum / W bit for bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddDivide(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float divisor, Span<float> dest)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = MemoryMarshal.Cast<float, Vector<float>>(a);
            var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
            var vd = MemoryMarshal.Cast<float, Vector<float>>(dest);
            var div = new Vector<float>(divisor);
            for (var v = 0; v < va.Length; v++)
            {
                vd[v] = (va[v] + vb[v]) / div;
            }
            i = va.Length * Vector<float>.Count;
        }
        for (; i < a.Length; i++)
        {
            dest[i] = (a[i] + b[i]) / divisor;
        }
    }

    /// <summary>A <see cref="MemoryManager{T}"/> that exposes a float buffer as its bytes, without copying.</summary>
    private sealed class ByteView : MemoryManager<byte>
    {
        private readonly Memory<float> _floats;
        private readonly Lock _pinLock = new();
        private MemoryHandle _pin;
        private int _pins;

        public ByteView(Memory<float> floats)
        {
            _floats = floats;
        }

        public override Span<byte> GetSpan()
        {
            return MemoryMarshal.AsBytes(_floats.Span);
        }

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            lock (_pinLock)
            {
                if (_pins++ == 0)
                {
                    _pin = _floats.Pin();
                }
                return new MemoryHandle((byte*)_pin.Pointer + elementIndex, pinnable: this);
            }
        }

        public override void Unpin()
        {
            lock (_pinLock)
            {
                if (--_pins == 0)
                {
                    _pin.Dispose();
                }
            }
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
