using MmCluster.Worker.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Training;

public sealed class StageOptimizerSpecs
{
    /// <summary>
    /// A defect found on 2026-12-07: AdamW's parameter groups were built with only their weight decay, and a group fills
    /// every unnamed setting with its own default (betas 0.9/0.999, eps 1e-8), which wins over the optimizer's arguments,
    /// so a run spec's betas were silently ignored. One step from zero state shows each setting: the second moment is
    /// (1 - β2)·g², and the update is lr·g/(|g| + eps) (both bias corrections are exact after one step).
    /// </summary>
    [Fact]
    public void Should_step_with_the_betas_and_eps_it_was_given_in_every_parameter_group()
    {
        using var model = nn.Linear(3, 2);                     // weight: decayed group; bias: exempt group
        var options = new TrainOptions { LearningRate = 0.1, TotalSteps = 10, WeightDecay = 0, Beta1 = 0.5, Beta2 = 0.75, Eps = 0.25, MaxGradNorm = 0 };
        using var optimizer = new StageOptimizer(model, options);
        var before = model.parameters().Select(p => p.detach().clone()).ToArray();

        optimizer.Begin();
        using (var scope = NewDisposeScope())
        {
            model.forward(tensor(new float[] { 1, -2, 3 }).reshape(1, 3)).sum().backward();
        }
        var grads = model.parameters().Select(p => p.grad!.clone()).ToArray();
        optimizer.Update();

        var states = ((IOptimizerState)optimizer).Optimizer.state_dict().State.Cast<AdamW.State>().ToArray();
        var byHandle = optimizer.NamedParameters.Select((p, i) => (p.Parameter, State: states[i])).ToArray();
        foreach (var ((parameter, state), (old, grad)) in byHandle.Zip(before.Zip(grads)))
        {
            Assert.True(allclose(state.exp_avg_sq, grad * grad * 0.25, rtol: 1e-6, atol: 1e-9), "second moment is not (1 - 0.75)·g²");
            Assert.True(allclose(state.exp_avg, grad * 0.5, rtol: 1e-6, atol: 1e-9), "first moment is not (1 - 0.5)·g");
            var expected = old - (0.1 * grad / (grad.abs() + 0.25));
            Assert.True(allclose(parameter, expected, rtol: 1e-6, atol: 1e-7), "the update did not use lr·g/(|g| + eps) with eps 0.25");
        }
    }
}
