using MmCluster.Worker.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// The optimizer half of a stage's train step, shared by <see cref="LmTrainStep"/>, <see cref="Blip2Stage1Step"/> and
/// <see cref="Blip2Stage2Step"/>: AdamW over the trainable parameters only (frozen ones are never seen, so they cannot
/// move, not even by weight decay), the same decay exclusions as <see cref="TrainStep"/>, the cosine schedule, gradient
/// averaging over ranks and global-norm clipping.
/// </summary>
public sealed class StageOptimizer : IDisposable, IOptimizerState
{
    private readonly TrainOptions options;
    private readonly IGradientAverager averager;
    private readonly Parameter[] parameters;
    private readonly AdamW optimizer;

    public StageOptimizer(nn.Module model, TrainOptions options, IGradientAverager? averager = null)
    {
        this.options = options;
        this.averager = averager ?? LocalGradients.Instance;
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        if (named.Length == 0)
        {
            throw new ArgumentException($"{model.GetName()} has no trainable parameter", nameof(model));
        }
        var decay = named.Where(p => !TrainStep.IsExcludedFromDecay(p.name, p.parameter)).ToArray();
        var noDecay = named.Where(p => TrainStep.IsExcludedFromDecay(p.name, p.parameter)).ToArray();
        NamedParameters = [.. decay, .. noDecay];
        parameters = [.. NamedParameters.Select(p => p.Parameter)];
        optimizer = optim.AdamW(
            [
                new AdamW.ParamGroup(decay.Select(p => p.parameter), weight_decay: options.WeightDecay),
                new AdamW.ParamGroup(noDecay.Select(p => p.parameter), weight_decay: 0),
            ],
            lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2, eps: options.Eps);
    }

    /// <summary>Steps completed so far (the schedule's position).</summary>
    public long Step { get; internal set; }

    /// <summary>Trainable parameters with their state_dict names, in the optimizer's order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters { get; }

    AdamW IOptimizerState.Optimizer => optimizer;

    long IOptimizerState.Step { get => Step; set => Step = value; }

    /// <summary>Sets this step's learning rate and clears the gradients; returns the learning rate.</summary>
    public double Begin()
    {
        var lr = options.Schedule.At(Step);
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = lr;
        }
        optimizer.zero_grad();
        return lr;
    }

    /// <summary>After backward: average over ranks, clip, update; returns the global gradient norm before clipping.</summary>
    public double Finish()
    {
        averager.AverageGradients(parameters);
        var maxNorm = options.MaxGradNorm > 0 ? options.MaxGradNorm : double.PositiveInfinity;
        var norm = nn.utils.clip_grad_norm_(parameters, maxNorm);
        optimizer.step();
        Step++;
        return norm;
    }

    public void Dispose() => optimizer.Dispose();
}
