using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

public sealed class CosineWithWarmupSpecs
{
    private readonly CosineWithWarmup schedule = new(BaseLr: 1e-3, WarmupSteps: 4, TotalSteps: 14, MinLr: 1e-5);

    [Theory]
    [InlineData(0, 2.5e-4)]
    [InlineData(1, 5e-4)]
    [InlineData(3, 1e-3)]
    public void Should_rise_linearly_when_in_warm_up(long step, double expected) =>
        Assert.Equal(expected, schedule.At(step), 12);

    [Fact]
    public void Should_reach_the_midpoint_halfway_through_the_decay_when_past_warm_up()
    {
        Assert.Equal(1e-3, schedule.At(4), 12);
        Assert.Equal(1e-5 + (0.5 * (1e-3 - 1e-5)), schedule.At(9), 12);
        Assert.True(schedule.At(13) < schedule.At(12));
    }

    [Fact]
    public void Should_stay_at_the_minimum_when_past_the_last_step()
    {
        Assert.Equal(1e-5, schedule.At(14), 12);
        Assert.Equal(1e-5, schedule.At(1000), 12);
    }

    [Fact]
    public void Should_decay_from_the_first_step_when_there_is_no_warm_up() =>
        Assert.Equal(1e-3, new CosineWithWarmup(1e-3, 0, 10).At(0), 12);

    [Fact]
    public void Should_throw_when_step_is_negative() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.At(-1));
}
