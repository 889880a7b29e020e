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
/// A large lookup table without weight decay (a token embedding of at least <see cref="GradientAverager.RowSparseMinRows"/>
/// rows) is stepped on its live rows only (<see cref="LiveRowsAdamW"/>): the same result as AdamW's dense step, on
/// AdamW's own state, at a fraction of its cost.
/// </summary>
public sealed class StageOptimizer : IDisposable, IOptimizerState
{
    private readonly TrainOptions options;
    private readonly IGradientAverager averager;
    private readonly Parameter[] parameters;
    private readonly AdamW optimizer;
    private readonly LiveRowsAdamW[] liveRowTables;
    private readonly (Parameter Parameter, AdamW.State State, int Group)[] denseParameters;
    private readonly bool referenceStep;

    /// <param name="referenceStep">False (the default): this class's own AdamW step (<see cref="AdamWUpdate"/>, the large
    /// tables on their live rows); true: TorchSharp's AdamW step for every parameter, the reference the specs compare with.</param>
    public StageOptimizer(nn.Module model, TrainOptions options, IGradientAverager? averager = null, bool referenceStep = false)
    {
        this.referenceStep = referenceStep;
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
                // Every setting named: a group's constructor otherwise fills in its own defaults (betas 0.9/0.999, eps
                // 1e-8), which take precedence over the optimizer's arguments below (they only fill unset ones).
                new AdamW.ParamGroup(decay.Select(p => p.parameter), options.LearningRate, options.Beta1, options.Beta2, options.Eps, options.WeightDecay),
                new AdamW.ParamGroup(noDecay.Select(p => p.parameter), options.LearningRate, options.Beta1, options.Beta2, options.Eps, weight_decay: 0),
            ],
            lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2, eps: options.Eps);
        var states = optimizer.state_dict().State;   // the optimizer's own state objects, in the order of NamedParameters
        var all = NamedParameters.Select((p, i) => (p.Parameter, State: (AdamW.State)states[i], Group: i < decay.Length ? 0 : 1)).ToArray();
        bool IsLiveRowTable(Parameter p, int group) =>
            !referenceStep && group == 1 && p.dim() == 2 && p.shape[0] >= GradientAverager.RowSparseMinRows;
        liveRowTables = [.. all.Where(p => IsLiveRowTable(p.Parameter, p.Group)).Select(p => new LiveRowsAdamW(p.Parameter, p.State))];
        denseParameters = [.. all.Where(p => !IsLiveRowTable(p.Parameter, p.Group))];
    }

    /// <summary>The tables stepped on their live rows (see <see cref="LiveRowsAdamW"/>).</summary>
    internal IReadOnlyList<LiveRowsAdamW> LiveRowTables => liveRowTables;

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
        if (referenceStep)
        {
            optimizer.step();
        }
        else
        {
            OwnStep();
        }
        Step++;
        return norm;
    }

    /// <summary>
    /// AdamW's step as TorchSharp takes it (a parameter without a gradient is skipped, its step count included), with the
    /// scalars held (<see cref="AdamWUpdate"/>) and the large tables on their live rows.
    /// </summary>
    private void OwnStep()
    {
        var lrs = optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
        double[] decays = [options.WeightDecay, 0];                      // the decayed group, the exempt one
        foreach (var (parameter, state, group) in denseParameters)
        {
            using var grad = parameter.grad;
            if (grad is null)
            {
                continue;
            }
            state.step += 1;
            AdamWUpdate.Apply(parameter, grad, state.exp_avg, state.exp_avg_sq, state.step,
                lrs[group], decays[group], options.Beta1, options.Beta2, options.Eps);
        }
        foreach (var table in liveRowTables)
        {
            using var grad = table.Table.grad;
            if (grad is not null)
            {
                table.Step(grad, lrs[1], options.Beta1, options.Beta2, options.Eps);
            }
        }
    }

    public void Dispose()
    {
        foreach (var table in liveRowTables)
        {
            table.Dispose();
        }
        optimizer.Dispose();
    }
}
