using System.Diagnostics;
using MmCluster.Worker.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// The optimizer half of every stage's train step (<see cref="IStageStep"/>): AdamW over the trainable parameters only
/// (frozen ones are never seen, so they cannot move, not even by weight decay) in two groups, decayed and exempt
/// (<see cref="IsExcludedFromDecay"/>), the cosine schedule, gradient averaging over ranks and global-norm clipping.
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
        var decay = named.Where(p => !IsExcludedFromDecay(p.name, p.parameter)).ToArray();
        var noDecay = named.Where(p => IsExcludedFromDecay(p.name, p.parameter)).ToArray();
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

    /// <summary>OpenCLIP's exclude rule (ndim &lt; 2, norms, biases, logit_scale) plus the embeddings.</summary>
    public static bool IsExcludedFromDecay(string name, Tensor parameter) =>
        parameter.dim() < 2
        || name.Contains("ln_", StringComparison.Ordinal)
        || name.EndsWith("bias", StringComparison.Ordinal)
        || name.Contains("logit_scale", StringComparison.Ordinal)
        || name.Contains("embedding", StringComparison.Ordinal);

    /// <summary>Sets this step's learning rate and clears the gradients; returns the learning rate.</summary>
    public double Begin()
    {
        var lr = options.Schedule.At(Step);
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = lr;
        }
        optimizer.zero_grad();
        averager.BeginStep();
        return lr;
    }

    /// <summary>After backward: average over ranks, clip, update; returns the global gradient norm before clipping.</summary>
    public double Finish() => Finish(Stopwatch.GetTimestamp(), out _);

    /// <summary>
    /// <see cref="Finish()"/>, timing the step's phases: forward and backward from <paramref name="startedAt"/> (the step's
    /// <see cref="Stopwatch.GetTimestamp"/> at its start) to now, then the gradient averaging, then clipping and the update.
    /// </summary>
    public double Finish(long startedAt, out StepPhases phases)
    {
        var backwardDone = Stopwatch.GetTimestamp();
        AverageGradients();
        var averaged = Stopwatch.GetTimestamp();
        var norm = Update();
        phases = StepPhases.Between(startedAt, backwardDone, averaged, Stopwatch.GetTimestamp());
        return norm;
    }

    /// <summary>After backward: replaces the gradients by their mean over ranks (<paramref name="touched"/>: see <see cref="TouchedRows"/>).</summary>
    public void AverageGradients(IReadOnlyList<TouchedRows>? touched = null)
    {
        if (touched is null)
        {
            averager.AverageGradients(parameters);
        }
        else
        {
            averager.AverageGradients(parameters, touched);
        }
    }

    /// <summary>After averaging: clips to the global norm, steps AdamW and the schedule; returns the norm before clipping.</summary>
    public double Update()
    {
        var maxNorm = options.MaxGradNorm > 0 ? options.MaxGradNorm : double.PositiveInfinity;
        var norm = nn.utils.clip_grad_norm_(parameters, maxNorm);
        optimizer.step();
        Step++;
        return norm;
    }

    public void Dispose() => optimizer.Dispose();
}
