using MmCluster.Shared.Grpc.Control;

namespace MmCluster.Worker.Training;

/// <summary>
/// What a stage's trainer knows of its last step beyond loss, learning rate and gradient norm: where the step's time
/// went and CLIP's logit scale; null where the trainer does not measure it. Travels in <see cref="ReportProgress"/>.
/// </summary>
public sealed record StepMetrics(StepPhases? Phases = null, double? LogitScale = null)
{
    /// <summary>A trainer that reports nothing beyond the step result.</summary>
    public static StepMetrics None { get; } = new();

    /// <summary>Sets the report's <c>phases</c> and <c>logit_scale</c> fields that this step has.</summary>
    public void CopyTo(ReportProgress report)
    {
        if (Phases is { } phases)
        {
            report.Phases = new Shared.Grpc.Control.StepPhases
            {
                ForwardBackwardMs = phases.ForwardBackwardMs,
                AverageGradientsMs = phases.AverageMs,
                OptimizerMs = phases.OptimizerMs,
            };
        }
        if (LogitScale is { } scale)
        {
            report.LogitScale = scale;
        }
    }
}
