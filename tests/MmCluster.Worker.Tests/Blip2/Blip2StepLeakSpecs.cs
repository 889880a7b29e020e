using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>The live tensor count does not grow across repeated Run calls of each stage's trainer.</summary>
public sealed class Blip2StepLeakSpecs
{
    private static readonly TrainOptions Options = new() { LearningRate = 1e-3, TotalSteps = 10 };

    public static TheoryData<string> Stages() => new() { "lm", "blip2-stage1", "blip2-stage2" };

    [Theory]
    [MemberData(nameof(Stages))]
    public void Should_keep_live_tensor_count_flat_when_steps_repeat(string stage)
    {
        var batch = Blip2Fixtures.Batch(4);
        using var model = stage switch
        {
            "lm" => (torch.nn.Module)new CaptionLm(CaptionLmConfig.Micro),
            "blip2-stage1" => Blip2Fixtures.NewStage1(),
            _ => Blip2Fixtures.NewStage2(),
        };
        using var step = stage switch
        {
            "lm" => (IDisposable)new LmTrainStep((CaptionLm)model, Options),
            "blip2-stage1" => new Blip2Stage1Step((MmCluster.Worker.Model.Blip2.Blip2Stage1Model)model, Options, SingleRankGatherer.Instance),
            _ => new Blip2Stage2Step((MmCluster.Worker.Model.Blip2.Blip2Stage2Model)model, Options),
        };
        StageStepResult Run() => step switch
        {
            LmTrainStep lm => lm.Run(batch),
            Blip2Stage1Step s1 => s1.Run(batch),
            Blip2Stage2Step s2 => s2.Run(batch),
            _ => throw new InvalidOperationException(),
        };

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
