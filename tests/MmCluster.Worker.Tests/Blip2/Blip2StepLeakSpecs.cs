using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>The live tensor count does not grow across repeated Run calls of each stage's trainer.</summary>
public sealed class Blip2StepLeakSpecs
{
    private static readonly TrainOptions Options = new() { LearningRate = 1e-3, TotalSteps = 10 };

    [Theory]
    [MemberData(nameof(Blip2Fixtures.StepStages), MemberType = typeof(Blip2Fixtures))]
    public void Should_keep_live_tensor_count_flat_when_steps_repeat(string stage)
    {
        var batch = Blip2Fixtures.Batch(4);
        var (model, step) = Blip2Fixtures.NewStep(stage, Options);
        using var _ = model;
        using var __ = step;
        StageStepResult Run() => step.Run(batch);

        var first = Run();   // warm-up: optimizer state appears
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        StageStepResult last = first;
        for (var i = 0; i < 4; i++)
        {
            last = Run();
        }

        Assert.Equal(0, DisposeScopeManager.Statistics.ThreadTotalLiveCount - before);
        Assert.Equal(5, last.Step);
        Assert.True(float.IsFinite(last.Loss));
        if (stage == "blip2-stage1")
        {
            Assert.Equal(["itc", "itm", "itg"], last.Losses.Keys);
            Assert.Equal(last.Loss, last.Losses.Values.Sum(), 4);
        }
    }
}
