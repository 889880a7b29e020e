using System.Diagnostics;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Loss;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// One synchronous step of <c>blip2-stage1</c>: freezes the image encoder (at construction), then per batch ITC + ITM + ITG
/// (<see cref="Blip2Stage1Loss"/>) with the gatherer, scaled by this rank's share of the global batch, backward, averaging, clipping, AdamW, and LAVIS's temperature clamp.
/// The batch's class labels, when present, are ITM's match groups (LAVIS's image_id). Hard negatives come from a generator
/// seeded with <c>samplingSeed</c> + rank, on the model's device, so a run is reproducible on one device. The batch reaches
/// the model's device through <c>staging</c> (<see cref="DeviceInputs"/>; the gatherer stages the features); the forward
/// and its losses run under the options' autocast (the frozen image encoder included).
/// </summary>
public sealed class Blip2Stage1Step : IStageStep
{
    private readonly Blip2Stage1Model model;
    private readonly IFeatureGatherer gatherer;
    private readonly StageOptimizer optimizer;
    private readonly Generator generator;
    private readonly DeviceInputs inputs;
    private readonly TrainOptions options;

    public Blip2Stage1Step(Blip2Stage1Model model, TrainOptions options, IFeatureGatherer gatherer, IGradientAverager? averager = null, long samplingSeed = 1,
        HostStaging? staging = null)
    {
        this.model = model;
        this.gatherer = gatherer;
        this.options = options;
        FrozenParameters.Apply(model, [Blip2Base.VisualEncoder]);
        optimizer = new StageOptimizer(model, options, averager);
        inputs = new DeviceInputs(model, staging);
        generator = new Generator((ulong)(samplingSeed + (1_000_003L * gatherer.Rank)), inputs.Device);   // multinomial draws where the similarities are
    }

    public StageOptimizer Optimizer => optimizer;

    public StageStepResult Run(ClipBatch batch)
    {
        batch.Validate();
        LmTrainStep.RequireContext(batch.ContextLength, model.QFormer.Config.ContextLength);
        using var scope = NewDisposeScope();
        var started = Stopwatch.GetTimestamp();
        var lr = optimizer.Begin();
        model.train();
        var images = inputs.Of(batch.Pixels, batch.PixelShape);
        var captions = inputs.Of(batch.Tokens, [batch.Count, batch.ContextLength]);
        var groups = Groups(batch, inputs);
        Blip2Stage1Losses losses;
        using (MixedPrecision.Autocast(options.ComputeType))
        {
            losses = Blip2Stage1Loss.Compute(model, images, captions, groups, gatherer, generator);
        }
        LossWeighting.Weigh(losses.Total, gatherer, batch.Count).backward();     // w_r = b_r·W/B; 1 for an even split
        var norm = optimizer.Finish(started, out var phases);
        model.ClampTemperature();
        var parts = new Dictionary<string, float>
        {
            ["itc"] = losses.Itc.item<float>(),
            ["itm"] = losses.Itm.item<float>(),
            ["itg"] = losses.Itg.item<float>(),
        };
        return new StageStepResult(optimizer.Step, losses.Total.item<float>(), lr, norm, parts) { Phases = phases };
    }

    /// <summary>The batch's labels as ITM groups when every row has one, else null (only the pair itself matches).</summary>
    internal static Tensor? Groups(ClipBatch batch, DeviceInputs? device = null)
    {
        if (batch.Labels.Length != batch.Count || batch.Labels.Any(l => l < 0))
        {
            return null;
        }
        var labels = batch.Labels.Select(l => (long)l).ToArray();
        return device?.Of(labels, [labels.Length]) ?? tensor(labels);
    }

    public void Dispose()
    {
        optimizer.Dispose();
        generator.Dispose();
    }
}
