using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Tests.Training;

/// <summary>
/// bf16-mixed on the CPU: the forward's matrix products in bfloat16, the loss within 1e-2 of float32's, and the weights
/// the optimizer updates (the master weights), their gradients and AdamW's state all float32.
/// </summary>
public sealed class MixedPrecisionSpecs
{
    private static readonly ClipConfig Config = ClipConfig.Mini with { ImageSize = 28, VisionLayers = 1, TextLayers = 1 };

    private static (ClipModel Model, TrainStep Step) Trainer(ScalarType? compute)
    {
        torch.random.manual_seed(11);
        var model = new ClipModel(Config);
        return (model, new TrainStep(model, new TrainOptions { LearningRate = 1e-3, TotalSteps = 10, ComputeType = compute }, SingleRankGatherer.Instance));
    }

    [Fact]
    public void Should_keep_the_loss_within_one_percent_of_float32_when_a_step_runs_bf16_mixed()
    {
        var batch = StepBenchmark.RandomBatch(Config, 32, new Random(3));
        var (fp32Model, fp32) = Trainer(null);
        var (mixedModel, mixed) = Trainer(ScalarType.BFloat16);
        using var _ = fp32Model;
        using var __ = mixedModel;
        using var ___ = fp32;
        using var ____ = mixed;
        // The same weights in both: copied, not re-drawn (specs running in parallel draw from the same global RNG).
        using (no_grad())
        {
            var source = fp32Model.state_dict();
            foreach (var (name, target) in mixedModel.state_dict())
            {
                target.copy_(source[name]);
            }
        }

        var reference = fp32.Run(batch);
        var result = mixed.Run(batch);

        Assert.InRange(Math.Abs(result.Loss - reference.Loss) / reference.Loss, 0, 1e-2);
        // It is not float32 in disguise: bfloat16 products give another loss.
        Assert.NotEqual(reference.Loss, result.Loss);
        Assert.True(double.IsFinite(result.GradNorm) && result.GradNorm > 0);
    }

    [Fact]
    public void Should_keep_master_weights_gradients_and_optimizer_state_in_float32_when_training_bf16_mixed()
    {
        var (model, step) = Trainer(ScalarType.BFloat16);
        using var _ = model;
        using var __ = step;
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        step.Run(StepBenchmark.RandomBatch(Config, 16, new Random(4)));
        step.Run(StepBenchmark.RandomBatch(Config, 16, new Random(5)));

        Assert.All(model.named_parameters(), p =>
        {
            Assert.Equal(ScalarType.Float32, p.parameter.dtype);
            Assert.Equal(ScalarType.Float32, p.parameter.grad!.dtype);
        });
        Assert.Contains(model.named_parameters(), p => MaxDifference(p.parameter, before[p.name]) > 0);   // it trained
        foreach (var state in ((IOptimizerState)step.Optimizer).Optimizer.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>())
        {
            Assert.Equal((ScalarType.Float32, ScalarType.Float32), (state.exp_avg.dtype, state.exp_avg_sq.dtype));
        }
    }

    [Fact]
    public void Should_compute_in_bfloat16_and_hand_back_float32_when_inside_an_autocast_scope()
    {
        using var scope = NewDisposeScope();
        torch.random.manual_seed(2);
        var x = randn(4, 64);
        var w = randn(32, 64);
        var b = randn(32);

        var plain = MixedPrecision.Linear(x, w, b);
        Tensor cast;
        using (MixedPrecision.Autocast(ScalarType.BFloat16))
        {
            Assert.Equal(ScalarType.BFloat16, MixedPrecision.ComputeType);
            cast = MixedPrecision.Linear(x, w, b);
        }
        var bf16 = functional.linear(x.to(ScalarType.BFloat16), w.to(ScalarType.BFloat16), b.to(ScalarType.BFloat16)).to(ScalarType.Float32);

        Assert.Null(MixedPrecision.ComputeType);                        // the scope ended
        Assert.Equal(ScalarType.Float32, cast.dtype);
        Assert.Equal(0, MaxDifference(cast, bf16));                   // autocast's linear is bfloat16's
        var difference = MaxDifference(cast, plain);
        Assert.InRange(difference, 1e-4, 0.3);                          // bfloat16 rounds, and stays close to float32 (|y| ~ 8)
    }

    [Fact]
    public void Should_send_float32_gradients_to_float32_weights_through_the_casts()
    {
        using var scope = NewDisposeScope();
        torch.random.manual_seed(3);
        var w = randn(8, 16).requires_grad_(true);
        var x = randn(5, 16);

        using (MixedPrecision.Autocast(ScalarType.BFloat16))
        {
            MixedPrecision.Linear(x, w, null).sum().backward();
        }

        Assert.Equal(ScalarType.Float32, w.grad!.dtype);
        // d(sum(x w^T))/dw = column sums of x, broadcast to every row: bfloat16 keeps them to about 3 digits.
        var expected = x.sum(0L).unsqueeze(0).expand(8, 16);   // 0L: a bare 0 would bind to sum(ScalarType) as Byte
        Assert.InRange(MaxDifference(w.grad, expected), 0, 5e-2);
    }

    private static double MaxDifference(Tensor a, Tensor b)
    {
        using var difference = (a.detach() - b.detach()).abs().max();
        return difference.item<float>();
    }
}
