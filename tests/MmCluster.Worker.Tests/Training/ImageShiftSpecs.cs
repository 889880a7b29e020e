using MmCluster.Worker.Tests.Training.Photos;
using MmCluster.Worker.Training;
using SkiaSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

public sealed class ImageShiftSpecs
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(-2, 1)]
    [InlineData(2, -2)]
    public void Should_move_every_pixel_by_the_offset_and_fill_the_uncovered_border(int dx, int dy)
    {
        const int size = 5;
        var image = Enumerable.Range(0, 2 * size * size).Select(i => (float)i).ToArray();
        var original = (float[])image.Clone();

        ImageShift.Apply(image, 2, size, dx, dy, [-1f, -2f]);

        for (var c = 0; c < 2; c++)
        {
            for (var y = 0; y < size; y++)
            {
                for (var x = 0; x < size; x++)
                {
                    var (sx, sy) = (x - dx, y - dy);
                    var expected = sx is >= 0 and < size && sy is >= 0 and < size ? original[(c * size * size) + (sy * size) + sx] : -1f - c;
                    Assert.Equal(expected, image[(c * size * size) + (y * size) + x]);
                }
            }
        }
    }

    [Fact]
    public void Should_draw_every_offset_within_the_bound_and_the_same_one_for_the_same_row()
    {
        var offsets = Enumerable.Range(0, 400).Select(i => ImageShift.Draw(42, 1, $"row-{i}", 2)).ToArray();

        Assert.All(offsets, o => Assert.InRange(o.Dx, -2, 2));
        Assert.All(offsets, o => Assert.InRange(o.Dy, -2, 2));
        Assert.Equal(25, offsets.Distinct().Count());
        Assert.Equal(offsets[7], ImageShift.Draw(42, 1, "row-7", 2));
        Assert.Contains(Enumerable.Range(0, 20), i => ImageShift.Draw(42, 2, $"row-{i}", 2) != offsets[i]);
    }

    [Fact]
    public void Should_shift_each_training_image_of_a_grey_batch_by_its_row_offset_and_leave_evaluation_images_alone()
    {
        var png = PhotoDecoderSpecs.Encode(28, 28, SKEncodedImageFormat.Png, (x, y) => new SKColor((byte)(x * 9), (byte)(y * 9), 50));
        CaptionedImage[] rows = [new("a", "a shirt", png) { Epoch = 3 }, new("b", "a bag", png) { Epoch = 3 }];
        var decoder = ImageDecoder.FashionMnist;
        var plain = decoder.Decode(png, "a");

        var shifted = new BatchBuilder(decoder, new CaptionTokenizer(16), cropSeed: 9, randomShift: 2).Build(rows).Pixels;
        var evaluation = new BatchBuilder(decoder, new CaptionTokenizer(16), randomShift: 2).Build(rows).Pixels;

        for (var i = 0; i < rows.Length; i++)
        {
            var expected = (float[])plain.Clone();
            var (dx, dy) = ImageShift.Draw(9, 3, rows[i].Key, 2);
            ImageShift.Apply(expected, 1, 28, dx, dy, decoder.Black);
            Assert.Equal(expected, shifted[(i * 784)..((i + 1) * 784)]);
            Assert.Equal(plain, evaluation[(i * 784)..((i + 1) * 784)]);
        }
        Assert.NotEqual(shifted[..784], shifted[784..]);                 // the two rows drew different offsets
        Assert.Equal(-0.2860f / 0.3530f, decoder.Black[0], 6);
    }
}
