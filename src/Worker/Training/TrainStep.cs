using System.Diagnostics;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Torch;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// One synchronous optimization step of CLIP (the async boundary sits around <see cref="Run"/>): forward, ClipLoss over
/// the gathered features scaled by this rank's share of the global batch (<see cref="IBatchLayout.LossWeight"/>), backward, then <see cref="StageOptimizer"/> as in every stage (gradient averaging told the
/// token ids looked up, global-norm clipping, AdamW with the cosine schedule; weight decay skips gains, biases,
/// embeddings and logit_scale), and OpenCLIP's clamp of logit_scale to [0, ln 100]. Every tensor of the step is on the
/// model's device: the batch is built on the host and handed to the device by <paramref name="staging"/> (from page-locked
/// memory, without blocking, on CUDA), or created there directly when there is none.
/// </summary>
public sealed class TrainStep(ClipModel model, TrainOptions options, IFeatureGatherer gatherer, IGradientAverager? averager = null,
    HostStaging? staging = null) : IStageStep
{
    private static readonly double MaxLogLogitScale = Math.Log(ClipLoss.MaxLogitScale);

    private readonly StageOptimizer optimizer = new(model, options, averager);
    private readonly DeviceInputs inputs = new(model, staging);

    /// <summary>Steps completed so far (the schedule's position); restored by a checkpoint.</summary>
    public long Step => optimizer.Step;

    public StageOptimizer Optimizer => optimizer;

    public TrainStepResult Run(ClipBatch batch)
    {
        batch.Validate();
        if (batch.ContextLength != model.Config.ContextLength)
        {
            throw new ArgumentException($"batch context length {batch.ContextLength} differs from the model's {model.Config.ContextLength}");
        }
        using var scope = NewDisposeScope();
        var t0 = Stopwatch.GetTimestamp();
        var lr = optimizer.Begin();
        model.train();
        var images = inputs.Of(batch.Pixels, batch.PixelShape);                        // (B, C, H, W) on the model's device
        var tokens = inputs.Of(batch.Tokens, [batch.Count, batch.ContextLength]);      // (B, T)
        Tensor imageFeatures, textFeatures;
        using (MixedPrecision.Autocast(options.ComputeType))
        {
            (imageFeatures, textFeatures) = model.forward(images, tokens);      // matrix products in the compute type
        }
        var loss = ClipLoss.Compute(imageFeatures, textFeatures, model.LogitScale, gatherer);
        LossWeighting.Weigh(loss, gatherer, batch.Count).backward();              // w_r = b_r·W/B; 1 for an even split
        var t1 = Stopwatch.GetTimestamp();
        optimizer.AverageGradients([new TouchedRows(model.TokenEmbedding, tokens)]);
        var t2 = Stopwatch.GetTimestamp();
        var gradNorm = optimizer.Update();
        double logitScale;
        using (no_grad())
        {
            model.LogitScale.ClampInPlace(0, MaxLogLogitScale);
            logitScale = Math.Exp(model.LogitScale.item<float>());
        }
        var t3 = Stopwatch.GetTimestamp();
        var phases = StepPhases.Between(t0, t1, t2, t3);
        return new TrainStepResult(Step, loss.item<float>(), lr, gradNorm, logitScale) { Phases = phases };
    }

    StageStepResult IStageStep.Run(ClipBatch batch) => Run(batch);

    public void Dispose() => optimizer.Dispose();
}
