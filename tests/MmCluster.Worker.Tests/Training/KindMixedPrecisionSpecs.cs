using MmCluster.Worker.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Training;

/// <summary>
/// <c>precision: bf16-mixed</c> on every stage kind besides clip (<see cref="MixedPrecisionSpecs"/>), on the CPU: a step's
/// loss within 1e-2 relative of float32's from the same weights and batch, and not float32's in disguise; the weights
/// the optimizer updates (frozen parts included), their gradients and AdamW's state stay float32.
/// </summary>
public sealed class KindMixedPrecisionSpecs
{
    private static readonly TrainOptions Fp32 = new() { LearningRate = 1e-3, TotalSteps = 10 };

    private static readonly TrainOptions Bf16 = Fp32 with { ComputeType = ScalarType.BFloat16 };

    [Theory]
    [MemberData(nameof(KindSteps.Kinds), MemberType = typeof(KindSteps))]
    public void Should_keep_the_loss_within_one_percent_of_float32_when_a_step_runs_bf16_mixed(string kind)
    {
        var batch = KindSteps.Batch(kind, 8, seed: 3);
        using var fp32Model = KindSteps.NewModel(kind);
        using var mixedModel = KindSteps.NewModel(kind);
        // The same weights in both: copied, not re-drawn (specs running in parallel draw from the same global RNG).
        var weights = KindSteps.Copy(fp32Model);
        KindSteps.Load(mixedModel, weights);
        foreach (var value in weights.Values)
        {
            value.Dispose();
        }
        using var fp32 = KindSteps.NewStep(kind, fp32Model, Fp32);
        using var mixed = KindSteps.NewStep(kind, mixedModel, Bf16);

        var reference = fp32.Run(batch);
        var result = mixed.Run(batch);

        Assert.InRange(Math.Abs(result.Loss - reference.Loss) / reference.Loss, 0, 1e-2);
        Assert.NotEqual(reference.Loss, result.Loss);                   // bfloat16 products give another loss
        Assert.True(double.IsFinite(result.GradNorm) && result.GradNorm > 0, $"{kind}: gradient norm {result.GradNorm}");
    }

    [Theory]
    [MemberData(nameof(KindSteps.Kinds), MemberType = typeof(KindSteps))]
    public void Should_keep_master_weights_gradients_and_optimizer_state_in_float32_when_training_bf16_mixed(string kind)
    {
        using var model = KindSteps.NewModel(kind);
        using var step = KindSteps.NewStep(kind, model, Bf16);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        step.Run(KindSteps.Batch(kind, 6, seed: 4));
        step.Run(KindSteps.Batch(kind, 6, seed: 5));

        Assert.All(model.named_parameters(), p =>
        {
            Assert.Equal(ScalarType.Float32, p.parameter.dtype);                       // frozen ones too
            if (p.parameter.grad is { } grad)
            {
                Assert.Equal(ScalarType.Float32, grad.dtype);
            }
        });
        Assert.Contains(model.named_parameters(), p => p.parameter.requires_grad && p.parameter.grad is not null);
        Assert.Contains(model.named_parameters(), p => (p.parameter - before[p.name]).abs().max().item<float>() > 0);   // it trained
        var states = ((IOptimizerState)step.Optimizer).Optimizer.state_dict().State.Cast<AdamW.State>().ToArray();
        Assert.NotEmpty(states);
        Assert.All(states, state => Assert.Equal((ScalarType.Float32, ScalarType.Float32), (state.exp_avg.dtype, state.exp_avg_sq.dtype)));
        foreach (var value in before.Values)
        {
            value.Dispose();
        }
    }
}
