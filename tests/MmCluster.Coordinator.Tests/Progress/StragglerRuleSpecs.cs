using MmCluster.Coordinator.Progress;
using Xunit;

namespace MmCluster.Coordinator.Tests.Progress;

public sealed class StragglerRuleSpecs
{
    [Fact]
    public void Should_flag_the_worker_that_waits_least_when_the_others_wait_clearly_longer()
    {
        Assert.Equal(1, StragglerRule.Find([(200, 60), (200, 5), (200, 55)]));
    }

    [Fact]
    public void Should_flag_nobody_when_the_spread_is_under_a_tenth_of_the_step()
    {
        Assert.Equal(-1, StragglerRule.Find([(200, 30), (200, 20)]));
    }

    [Fact]
    public void Should_flag_nobody_when_fewer_than_two_workers_are_timed()
    {
        Assert.Equal(-1, StragglerRule.Find([(200, 80), (0, 0)]));
    }
}
