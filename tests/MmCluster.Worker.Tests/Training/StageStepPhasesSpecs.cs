using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Tests.Blip2;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

/// <summary>Every stage's step times its phases (forward + backward, gradient averaging, optimizer) for the progress report.</summary>
public sealed class StageStepPhasesSpecs
{
    private static readonly TrainOptions Options = new() { LearningRate = 1e-3, TotalSteps = 10 };

    public static TheoryData<string> Stages() => new() { "lm", "blip2-stage1", "blip2-stage2" };

    [Theory]
    [MemberData(nameof(Stages))]
    public void Should_report_the_step_s_phase_times_when_a_stage_steps(string stage)
    {
        var batch = Blip2Fixtures.Batch(4);
        using var model = stage switch
        {
            "lm" => (torch.nn.Module)new CaptionLm(CaptionLmConfig.Micro),
            "blip2-stage1" => Blip2Fixtures.NewStage1(),
            _ => Blip2Fixtures.NewStage2(),
        };
        using IStageStep step = stage switch
        {
            "lm" => new LmTrainStep((CaptionLm)model, Options),
            "blip2-stage1" => new Blip2Stage1Step((Blip2Stage1Model)model, Options, SingleRankGatherer.Instance),
            _ => new Blip2Stage2Step((Blip2Stage2Model)model, Options),
        };

        var result = step.Run(batch);

        Assert.True(result.Phases.ForwardBackwardMs > 0, $"forward+backward {result.Phases.ForwardBackwardMs} ms");
        Assert.True(result.Phases.AverageMs >= 0);
        Assert.True(result.Phases.OptimizerMs > 0, $"optimizer {result.Phases.OptimizerMs} ms");
        Assert.Same(result.Phases, result.Metrics.Phases);
    }
}
