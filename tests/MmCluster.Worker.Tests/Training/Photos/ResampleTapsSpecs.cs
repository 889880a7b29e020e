using MmCluster.Worker.Training.Photos;
using Xunit;

namespace MmCluster.Worker.Tests.Training.Photos;

public sealed class ResampleTapsSpecs
{
    [Theory]
    [InlineData(100, 0, 100, 37)]
    [InlineData(3172, 0, 3172, 224)]
    [InlineData(50, 10.5, 40.25, 224)]
    [InlineData(7, 0, 7, 7)]
    public void Should_have_weights_summing_to_one_inside_the_image_when_computed(int inSize, double from, double to, int outSize)
    {
        var taps = ResampleTaps.Bicubic(inSize, from, to, outSize);

        for (var o = 0; o < outSize; o++)
        {
            Assert.InRange(taps.First[o], 0, inSize - 1);
            Assert.InRange(taps.First[o] + taps.Count[o], 1, inSize);
            var sum = 0.0;
            for (var k = 0; k < taps.Span; k++)
            {
                sum += taps.Weights[(o * taps.Span) + k];
            }
            Assert.Equal(1.0, sum, 5);
        }
    }

    [Fact]
    public void Should_copy_each_pixel_when_the_size_does_not_change()
    {
        var taps = ResampleTaps.Bicubic(10, 0, 10, 10);

        for (var o = 0; o < 10; o++)
        {
            var own = o - taps.First[o];
            Assert.Equal(1f, taps.Weights[(o * taps.Span) + own], 6);
        }
    }

    [Fact]
    public void Should_widen_the_kernel_by_the_reduction_factor_when_shrinking()
    {
        var same = ResampleTaps.Bicubic(64, 0, 64, 64);
        var quarter = ResampleTaps.Bicubic(64, 0, 64, 16);

        Assert.Equal(5, same.Span);
        Assert.Equal(17, quarter.Span);   // support 2·4 = 8 either side
        Assert.Equal(16, quarter.Count[8]);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(0.5, 0.5625)]
    [InlineData(1.5, -0.0625)]
    public void Should_be_keys_cubic_with_a_minus_one_half_when_evaluated(double x, double expected)
    {
        Assert.Equal(expected, ResampleTaps.Cubic(x), 9);
        Assert.Equal(expected, ResampleTaps.Cubic(-x), 9);
    }
}
