using MmCluster.Worker.Tests.Blip2;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

/// <summary>Every stage's step times its phases (forward + backward, gradient averaging, optimizer) for the progress report.</summary>
public sealed class StageStepPhasesSpecs
{
    private static readonly TrainOptions Options = new() { LearningRate = 1e-3, TotalSteps = 10 };

    [Theory]
    [MemberData(nameof(Blip2Fixtures.StepStages), MemberType = typeof(Blip2Fixtures))]
    public void Should_report_the_step_s_phase_times_when_a_stage_steps(string stage)
    {
        var (model, step) = Blip2Fixtures.NewStep(stage, Options);
        using var _ = model;
        using var __ = step;

        var result = step.Run(Blip2Fixtures.Batch(4));

        Assert.True(result.Phases.ForwardBackwardMs > 0, $"forward+backward {result.Phases.ForwardBackwardMs} ms");
        Assert.True(result.Phases.AverageMs >= 0);
        Assert.True(result.Phases.OptimizerMs > 0, $"optimizer {result.Phases.OptimizerMs} ms");
        Assert.Same(result.Phases, result.Metrics.Phases);
    }
}
