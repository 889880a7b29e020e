using System.Diagnostics;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Loss;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// One synchronous optimization step of CLIP (the async boundary sits around <see cref="Run"/>): forward, ClipLoss over
/// the gathered features, backward, gradient averaging hook, global-norm clipping, AdamW with the cosine schedule, and
/// OpenCLIP's clamp of logit_scale to [0, ln 100]. Weight decay skips gains, biases, embeddings and logit_scale.
/// </summary>
public sealed class TrainStep : IDisposable, IOptimizerState
{
    private static readonly double MaxLogLogitScale = Math.Log(ClipLoss.MaxLogitScale);

    private readonly ClipModel model;
    private readonly TrainOptions options;
    private readonly IFeatureGatherer gatherer;
    private readonly IGradientAverager averager;
    private readonly CosineWithWarmup schedule;
    private readonly Parameter[] parameters;

    public TrainStep(ClipModel model, TrainOptions options, IFeatureGatherer gatherer, IGradientAverager? averager = null)
    {
        this.model = model;
        this.options = options;
        this.gatherer = gatherer;
        this.averager = averager ?? LocalGradients.Instance;
        schedule = options.Schedule;
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        var decay = named.Where(p => !IsExcludedFromDecay(p.name, p.parameter)).ToArray();
        var noDecay = named.Where(p => IsExcludedFromDecay(p.name, p.parameter)).ToArray();
        NamedParameters = [.. decay, .. noDecay];   // the optimizer's order
        parameters = [.. NamedParameters.Select(p => p.Parameter)];
        Optimizer = optim.AdamW(
            [
                new AdamW.ParamGroup(decay.Select(p => p.parameter), weight_decay: options.WeightDecay),
                new AdamW.ParamGroup(noDecay.Select(p => p.parameter), weight_decay: 0),
            ],
            lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2, eps: options.Eps);
    }

    /// <summary>Steps completed so far (the schedule's position); restored by a checkpoint.</summary>
    public long Step { get; internal set; }

    internal AdamW Optimizer { get; }

    AdamW IOptimizerState.Optimizer => Optimizer;

    IReadOnlyList<(string Name, Parameter Parameter)> IOptimizerState.NamedParameters => NamedParameters;

    long IOptimizerState.Step { get => Step; set => Step = value; }

    /// <summary>Trainable parameters with their state_dict names, in the optimizer's state order.</summary>
    internal IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters { get; }

    /// <summary>OpenCLIP's exclude rule (ndim &lt; 2, norms, biases, logit_scale) plus the embeddings.</summary>
    public static bool IsExcludedFromDecay(string name, Tensor parameter) =>
        parameter.dim() < 2
        || name.Contains("ln_", StringComparison.Ordinal)
        || name.EndsWith("bias", StringComparison.Ordinal)
        || name.Contains("logit_scale", StringComparison.Ordinal)
        || name.Contains("embedding", StringComparison.Ordinal);

    public TrainStepResult Run(ClipBatch batch)
    {
        batch.Validate();
        if (batch.ContextLength != model.Config.ContextLength)
        {
            throw new ArgumentException($"batch context length {batch.ContextLength} differs from the model's {model.Config.ContextLength}");
        }
        using var scope = NewDisposeScope();
        var t0 = Stopwatch.GetTimestamp();
        var lr = schedule.At(Step);
        foreach (var group in Optimizer.ParamGroups)
        {
            group.LearningRate = lr;
        }
        model.train();
        Optimizer.zero_grad();
        var images = tensor(batch.Pixels, batch.PixelShape);                            // (B, C, H, W)
        var tokens = tensor(batch.Tokens, [batch.Count, batch.ContextLength]);        // (B, T)
        var (imageFeatures, textFeatures) = model.forward(images, tokens);
        var loss = ClipLoss.Compute(imageFeatures, textFeatures, model.LogitScale, gatherer);
        loss.backward();
        var t1 = Stopwatch.GetTimestamp();
        averager.AverageGradients(parameters, [new TouchedRows(model.TokenEmbedding, tokens)]);
        var t2 = Stopwatch.GetTimestamp();
        var maxNorm = options.MaxGradNorm > 0 ? options.MaxGradNorm : double.PositiveInfinity;
        var gradNorm = nn.utils.clip_grad_norm_(parameters, maxNorm);
        Optimizer.step();
        double logitScale;
        using (no_grad())
        {
            model.LogitScale.clamp_(0, MaxLogLogitScale);
            logitScale = Math.Exp(model.LogitScale.item<float>());
        }
        Step++;
        var t3 = Stopwatch.GetTimestamp();
        var phases = new StepPhases(
            Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds,
            Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds,
            Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds);
        return new TrainStepResult(Step, loss.item<float>(), lr, gradNorm, logitScale) { Phases = phases };
    }

    public void Dispose() => Optimizer.Dispose();
}
