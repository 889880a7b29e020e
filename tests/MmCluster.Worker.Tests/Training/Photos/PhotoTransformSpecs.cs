using MmCluster.Worker.Training.Photos;
using Xunit;

namespace MmCluster.Worker.Tests.Training.Photos;

public sealed class PhotoTransformSpecs
{
    [Theory]
    [InlineData(640, 480, 224, 298, 224)]
    [InlineData(480, 640, 224, 224, 298)]
    [InlineData(5640, 3172, 224, 398, 224)]
    [InlineData(100, 100, 224, 224, 224)]
    [InlineData(9, 6, 4, 6, 4)]
    public void Should_resize_the_shorter_side_and_truncate_the_longer_when_resizing_like_torchvision(int w, int h, int size, int rw, int rh)
    {
        Assert.Equal((rw, rh), PhotoTransform.ShorterSideTo(w, h, size));
    }

    [Fact]
    public void Should_take_the_centred_square_of_the_resized_image_when_cropping_for_evaluation()
    {
        // 640x480 -> 298x224; CenterCrop(224) starts at round(74 / 2) = 37
        var box = PhotoTransform.CenterCrop(640, 480, 224);

        var scale = 640.0 / 298;
        Assert.Equal(37 * scale, box.X0, 9);
        Assert.Equal(261 * scale, box.X1, 9);
        Assert.Equal(0, box.Y0, 9);
        Assert.Equal(480, box.Y1, 9);
    }

    [Fact]
    public void Should_take_the_whole_image_when_a_square_is_cropped_for_evaluation()
    {
        Assert.Equal(new SourceBox(0, 0, 300, 300), PhotoTransform.CenterCrop(300, 300, 224));
    }

    [Fact]
    public void Should_draw_the_same_box_when_the_seed_is_the_same()
    {
        var first = PhotoTransform.RandomResizedCrop(1200, 1000, 42);

        Assert.Equal(first, PhotoTransform.RandomResizedCrop(1200, 1000, 42));
        Assert.NotEqual(first, PhotoTransform.RandomResizedCrop(1200, 1000, 43));
    }

    [Fact]
    public void Should_always_take_the_centred_four_by_three_box_when_a_16_by_9_photo_is_cropped_at_openclip_s_scale()
    {
        // 90% of a 16:9 area is 1.6:1 or wider at full height: no draw in 3/4..4/3 fits, as in torchvision
        var boxes = Enumerable.Range(0, 50).Select(s => PhotoTransform.RandomResizedCrop(1920, 1080, (ulong)s)).Distinct().ToList();

        Assert.Equal([new SourceBox(240, 0, 1680, 1080)], boxes);
    }

    [Fact]
    public void Should_keep_area_ratio_and_bounds_in_openclip_s_ranges_when_drawing_training_crops()
    {
        var positions = new HashSet<(double, double)>();
        for (var seed = 0UL; seed < 2000; seed++)
        {
            var box = PhotoTransform.RandomResizedCrop(1000, 800, seed);

            Assert.True(box.X0 >= 0 && box.Y0 >= 0 && box.X1 <= 1000 && box.Y1 <= 800, $"seed {seed}: {box} leaves the image");
            Assert.Equal(Math.Round(box.X0), box.X0);
            var area = box.Width * box.Height / (1000.0 * 800);
            Assert.InRange(area, 0.9 - 0.005, 1.0 + 0.005);
            Assert.InRange(box.Width / box.Height, (3.0 / 4) - 0.01, (4.0 / 3) + 0.01);
            positions.Add((box.X0, box.Y0));
        }
        Assert.True(positions.Count > 100, $"only {positions.Count} distinct positions in 2000 draws");
    }

    [Fact]
    public void Should_fall_back_to_the_centred_box_clamped_to_the_ratio_range_when_no_draw_fits()
    {
        // 1000x10: a box of 90% of the area with ratio <= 4/3 is 10x taller than the image, ten times over
        var box = PhotoTransform.RandomResizedCrop(1000, 10, 7);

        Assert.Equal(new SourceBox(493, 0, 506, 10), box);
    }

    [Fact]
    public void Should_derive_sample_seeds_from_run_seed_epoch_and_key_when_asked()
    {
        var seed = PhotoTransform.SampleSeed(1, 0, "00001");

        Assert.Equal(seed, PhotoTransform.SampleSeed(1, 0, "00001"));
        Assert.NotEqual(seed, PhotoTransform.SampleSeed(1, 1, "00001"));
        Assert.NotEqual(seed, PhotoTransform.SampleSeed(2, 0, "00001"));
        Assert.NotEqual(seed, PhotoTransform.SampleSeed(1, 0, "00002"));
    }
}
