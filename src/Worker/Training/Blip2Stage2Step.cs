using System.Diagnostics;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Loss;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// One synchronous step of <c>blip2-stage2</c>: freezes <see cref="Blip2Stage2Model.FrozenPrefixes"/> at construction
/// (image encoder, language model, the Q-Former's text-only parts), then per batch the caption loss with the first
/// <c>promptTokens</c> caption tokens masked, scaled by this rank's share of the global batch (<c>layout</c>; none: world
/// size 1), backward, averaging of the trainable gradients only, clipping, AdamW. The batch reaches the model's device
/// through <c>staging</c> (<see cref="DeviceInputs"/>); the forward (frozen parts included) runs under the options' autocast.
/// </summary>
public sealed class Blip2Stage2Step : IStageStep
{
    private readonly Blip2Stage2Model model;
    private readonly int promptTokens;
    private readonly StageOptimizer optimizer;
    private readonly IBatchLayout layout;
    private readonly DeviceInputs inputs;
    private readonly TrainOptions options;

    public Blip2Stage2Step(Blip2Stage2Model model, TrainOptions options, IGradientAverager? averager = null, int promptTokens = 0, IBatchLayout? layout = null,
        HostStaging? staging = null)
    {
        this.model = model;
        this.promptTokens = promptTokens;
        this.options = options;
        this.layout = layout ?? SingleRankGatherer.Instance;
        FrozenParameters.Apply(model, model.FrozenPrefixes);
        optimizer = new StageOptimizer(model, options, averager);
        inputs = new DeviceInputs(model, staging);
    }

    public StageOptimizer Optimizer => optimizer;

    public StageStepResult Run(ClipBatch batch)
    {
        batch.Validate();
        LmTrainStep.RequireContext(batch.ContextLength, model.LanguageModel.Config.ContextLength);
        using var scope = NewDisposeScope();
        var started = Stopwatch.GetTimestamp();
        var lr = optimizer.Begin();
        model.train();
        var images = inputs.Of(batch.Pixels, batch.PixelShape);
        var captions = inputs.Of(batch.Tokens, [batch.Count, batch.ContextLength]);
        Tensor loss;
        using (MixedPrecision.Autocast(options.ComputeType))
        {
            loss = model.CaptionLoss(images, captions, promptTokens);
        }
        LossWeighting.Weigh(loss, layout, batch.Count).backward();              // w_r = b_r·W/B; 1 for an even split
        var norm = optimizer.Finish(started, out var phases);
        var value = loss.item<float>();
        return new StageStepResult(optimizer.Step, value, lr, norm, new Dictionary<string, float> { ["lm"] = value }) { Phases = phases };
    }

    public void Dispose() => optimizer.Dispose();
}
