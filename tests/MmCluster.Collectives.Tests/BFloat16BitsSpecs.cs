using MmCluster.Collectives;
using Xunit;

namespace MmCluster.Collectives.Tests;

/// <summary>
/// bf16 on the wire: round to nearest even on known bit patterns, and the vectorised kernels equal the scalar reference
/// element for element (every length up to a few vectors, so each tail path runs), NaN and infinities included.
/// </summary>
public sealed class BFloat16BitsSpecs
{
    [Theory]
    [InlineData(0x3F80_0000u, (ushort)0x3F80)] // 1.0 exactly
    [InlineData(0x3F80_7FFFu, (ushort)0x3F80)] // just below half an ulp: down
    [InlineData(0x3F80_8000u, (ushort)0x3F80)] // a tie, even neighbour below: down
    [InlineData(0x3F81_8000u, (ushort)0x3F82)] // a tie, odd neighbour below: up to even
    [InlineData(0x3F80_8001u, (ushort)0x3F81)] // just above half an ulp: up
    [InlineData(0x8000_0000u, (ushort)0x8000)] // -0 keeps its sign
    [InlineData(0x0000_0001u, (ushort)0x0000)] // the smallest subnormal rounds to 0
    [InlineData(0x7F80_0000u, (ushort)0x7F80)] // +infinity
    [InlineData(0xFF80_0000u, (ushort)0xFF80)] // -infinity
    [InlineData(0x7F7F_FFFFu, (ushort)0x7F80)] // float.MaxValue rounds past the largest bf16: infinity
    [InlineData(0x7F80_0001u, (ushort)0x7FC0)] // a signalling NaN with a low payload stays NaN (made quiet), never infinity
    [InlineData(0xFFC1_2345u, (ushort)0xFFC1)] // a quiet NaN keeps sign and upper payload
    public void Should_round_to_nearest_even_when_narrowing_a_float(uint bits, ushort expected)
    {
        Assert.Equal(expected, BFloat16Bits.FromSingle(BitConverter.UInt32BitsToSingle(bits)));
    }

    [Fact]
    public void Should_read_back_the_upper_half_of_the_float_when_widening()
    {
        Assert.Equal(1.0f, BFloat16Bits.ToSingle(0x3F80));
        Assert.Equal(-2.0f, BFloat16Bits.ToSingle(0xC000));
        Assert.Equal(float.PositiveInfinity, BFloat16Bits.ToSingle(0x7F80));
        Assert.True(float.IsNaN(BFloat16Bits.ToSingle(0x7FC0)));
        Assert.Equal(1.0078125f, BFloat16Bits.Round(1.01f)); // 1 + 2^-7: bf16 keeps 7 bits of mantissa
    }

    [Fact]
    public void Should_equal_the_scalar_reference_when_narrowing_and_rounding_vectors_of_any_length()
    {
        var random = new Random(7);
        for (var n = 0; n <= 80; n++)
        {
            var source = RandomFloats(random, n);
            var narrowed = new ushort[n];
            BFloat16Bits.Narrow(source, narrowed);
            var rounded = source.ToArray();
            BFloat16Bits.RoundInPlace(rounded);
            for (var i = 0; i < n; i++)
            {
                var expected = BFloat16Bits.FromSingle(source[i]);
                Assert.True(expected == narrowed[i], $"n={n} element {i} ({BitConverter.SingleToUInt32Bits(source[i]):X8}): narrowed {narrowed[i]:X4}, expected {expected:X4}");
                Assert.Equal(BitConverter.SingleToUInt32Bits(BFloat16Bits.ToSingle(expected)), BitConverter.SingleToUInt32Bits(rounded[i]));
            }
        }
    }

    [Fact]
    public void Should_equal_the_scalar_reference_when_widening_adding_and_dividing_vectors_of_any_length()
    {
        var random = new Random(11);
        for (var n = 0; n <= 80; n++)
        {
            var received = RandomFloats(random, n).Select(BFloat16Bits.FromSingle).ToArray();
            var own = RandomFloats(random, n);
            var widened = new float[n];
            var added = new float[n];
            var divided = own.ToArray(); // in place over the addend, as the ring does
            BFloat16Bits.Widen(received, widened);
            BFloat16Bits.WidenAdd(received, own, added);
            BFloat16Bits.WidenAddDivide(received, divided, 3f, divided);
            for (var i = 0; i < n; i++)
            {
                var value = BFloat16Bits.ToSingle(received[i]);
                AssertSameBits(value, widened[i], $"widen n={n} element {i}");
                AssertSameBits(value + own[i], added[i], $"add n={n} element {i}");
                AssertSameBits((value + own[i]) / 3f, divided[i], $"add-divide n={n} element {i}");
            }
        }
    }

    [Fact]
    public void Should_keep_and_send_the_same_rounded_values_when_fusing_a_hop_of_the_ring()
    {
        var random = new Random(13);
        for (var n = 0; n <= 80; n++)
        {
            var source = RandomFloats(random, n);
            var kept = new float[n];
            var sent = new ushort[n];
            BFloat16Bits.NarrowRounded(source, kept, sent);
            var received = RandomFloats(random, n).Select(BFloat16Bits.FromSingle).ToArray();
            var own = RandomFloats(random, n);
            var partial = new float[n];
            var partialSent = new ushort[n];
            BFloat16Bits.WidenCombineNarrow(received, own, 0f, partial, partialSent);
            var finished = own.ToArray(); // in place over the addend, as the ring does
            var finishedSent = new ushort[n];
            BFloat16Bits.WidenCombineNarrow(received, finished, 4f, finished, finishedSent);
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(BFloat16Bits.FromSingle(source[i]), sent[i]);
                AssertSameBits(BFloat16Bits.Round(source[i]), kept[i], $"kept n={n} element {i}");
                var sum = BFloat16Bits.ToSingle(received[i]) + own[i];
                AssertSameBits(BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(sum)), BFloat16Bits.ToSingle(partialSent[i]), $"partial sent n={n} element {i}");
                AssertSameBits(BFloat16Bits.Round(sum), partial[i], $"partial kept n={n} element {i}");
                AssertSameBits(BFloat16Bits.Round(sum / 4f), finished[i], $"finished kept n={n} element {i}");
                AssertSameBits(BFloat16Bits.Round(sum / 4f), BFloat16Bits.ToSingle(finishedSent[i]), $"finished sent n={n} element {i}");
            }
        }
    }

    [Fact]
    public void Should_refuse_spans_of_different_lengths()
    {
        var error = Assert.Throws<ArgumentException>(() => BFloat16Bits.Narrow(new float[5], new ushort[4]));
        Assert.Contains("5 and 4", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Mostly ordinary values over many magnitudes, with ties, infinities, NaNs and subnormals mixed in.</summary>
    private static float[] RandomFloats(Random random, int n)
    {
        var values = new float[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = (i % 9) switch
            {
                0 => BitConverter.UInt32BitsToSingle((uint)random.Next() << 16 | 0x8000), // an exact tie
                1 => float.NaN,
                2 => i % 2 == 0 ? float.PositiveInfinity : float.NegativeInfinity,
                3 => BitConverter.UInt32BitsToSingle((uint)random.Next(1, 0x007F_FFFF)), // subnormal
                _ => (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-20, 20))),
            };
        }
        return values;
    }

    private static void AssertSameBits(float expected, float actual, string what)
    {
        var same = BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual) || (float.IsNaN(expected) && float.IsNaN(actual));
        Assert.True(same, $"{what}: {actual:R}, expected {expected:R}");
    }
}
