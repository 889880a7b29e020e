using MmCluster.Worker.Runtime;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

public sealed class ResumeEpochsSpecs
{
    [Theory]
    [InlineData(4, 2, 4, 0)]     // checkpoint at the end of epoch 0, the feed had prefetched into epoch 2: epoch 1 is still open
    [InlineData(9, 2, 4, 1)]
    [InlineData(3, 0, 4, 0)]
    [InlineData(400, 7, 40, 7)]  // never past where the feed was
    public void Should_start_at_or_below_the_first_open_epoch_when_the_feed_had_read_ahead(long step, int checkpointEpoch, long stepsPerEpoch, int expected)
    {
        Assert.Equal(expected, ResumeEpochs.Of(step, checkpointEpoch, stepsPerEpoch));
    }

    [Fact]
    public void Should_keep_the_checkpoints_epoch_when_the_stage_does_not_know_its_steps_per_epoch()
    {
        Assert.Equal(3, ResumeEpochs.Of(100, 3, 0));
    }
}
