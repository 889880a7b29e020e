using System.Diagnostics;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Torch;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// One synchronous step of a chat stage (<c>llava-align</c>, <c>llava-instruct</c>, <c>plora</c>): freezes
/// <paramref name="frozen"/> at construction, then per batch of conversation rows (<see cref="ClipBatch.Targets"/>) the
/// model's answer loss, scaled by this rank's share of the global batch, backward, averaging of the trainable gradients,
/// clipping, AdamW. A batch without one supervised token (every row unaligned or too long) steps with a zero loss, so the
/// ranks still meet in the same collectives. The batch reaches the model's device through <c>staging</c>
/// (<see cref="DeviceInputs"/>); the forward (frozen parts included) runs under the options' autocast.
/// </summary>
public sealed class ChatStep<TModel> : IStageStep where TModel : nn.Module, IImageChatModel
{
    private readonly TModel model;
    private readonly StageOptimizer optimizer;
    private readonly IBatchLayout layout;
    private readonly DeviceInputs inputs;
    private readonly TrainOptions options;

    public ChatStep(TModel model, IReadOnlyList<string> frozen, TrainOptions options, IGradientAverager? averager = null, IBatchLayout? layout = null,
        HostStaging? staging = null)
    {
        this.model = model;
        this.options = options;
        this.layout = layout ?? SingleRankGatherer.Instance;
        inputs = new DeviceInputs(model, staging);
        if (frozen.Count > 0)
        {
            FrozenParameters.Apply(model, [.. frozen]);
        }
        optimizer = new StageOptimizer(model, options, averager);
    }

    public StageOptimizer Optimizer => optimizer;

    /// <summary>Rows trained so far by <see cref="ConversationOutcome"/>, on this rank.</summary>
    public long[] Outcomes { get; } = new long[Enum.GetValues<ConversationOutcome>().Length];

    public StageStepResult Run(ClipBatch batch)
    {
        batch.Validate();
        var targets = batch.Targets ?? throw new ArgumentException("a chat step needs conversation rows (ClipBatch.Targets)", nameof(batch));
        LmTrainStep.RequireContext(batch.ContextLength, model.LanguageConfig.ContextLength);
        for (var i = 0; i < batch.Outcomes.Length; i++)
        {
            Outcomes[i] += batch.Outcomes[i];
        }
        using var scope = NewDisposeScope();
        var started = Stopwatch.GetTimestamp();
        var lr = optimizer.Begin();
        model.train();
        var images = inputs.Of(batch.Pixels, batch.PixelShape);
        var ids = inputs.Of(batch.Tokens, [batch.Count, batch.ContextLength]);
        var labels = inputs.Of(targets, [batch.Count, batch.ContextLength]);
        var instructions = batch.Instructions is { } rows ? inputs.Of(rows, [batch.Count, batch.InstructionLength]) : null;
        Tensor loss;
        using (MixedPrecision.Autocast(options.ComputeType))
        {
            loss = targets.Any(t => t != CaptionTargets.IgnoreIndex)
                ? model.Loss(images, ids, labels, batch.ImagePosition, instructions)
                : ZeroLoss();
        }
        LossWeighting.Weigh(loss, layout, batch.Count).backward();
        var norm = optimizer.Finish(started, out var phases);
        var value = loss.item<float>();
        return new StageStepResult(optimizer.Step, value, lr, norm, new Dictionary<string, float> { ["lm"] = value }) { Phases = phases };
    }

    public void Dispose() => optimizer.Dispose();

    private Tensor ZeroLoss()
    {
        var zero = zeros(1, device: inputs.Device).squeeze();
        foreach (var p in model.parameters().Where(p => p.requires_grad))
        {
            zero = zero.Plus(p.sum().Times(0));
        }
        return zero;
    }
}
