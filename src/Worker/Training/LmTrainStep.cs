using System.Diagnostics;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using static TorchSharp.torch;

namespace MmCluster.Worker.Training;

/// <summary>
/// One synchronous step of the <c>lm</c> stage: next-token loss of <see cref="CaptionLm"/> on the batch's caption rows
/// (BOS + row shifted right as input, the row up to its EOT as labels; or conversation rows, text only, with their
/// answer targets), scaled by this rank's share of the global batch
/// (<paramref name="layout"/>; none: world size 1). The batch's pixels are not used. The rows reach the model's device
/// through <paramref name="staging"/> (<see cref="DeviceInputs"/>); the forward runs under the options' autocast.
/// </summary>
public sealed class LmTrainStep(CaptionLm model, TrainOptions options, IGradientAverager? averager = null, IBatchLayout? layout = null,
    HostStaging? staging = null) : IStageStep
{
    private readonly IBatchLayout layout = layout ?? SingleRankGatherer.Instance;

    private readonly StageOptimizer optimizer = new(model, options, averager);
    private readonly DeviceInputs inputs = new(model, staging);

    public StageOptimizer Optimizer => optimizer;

    public StageStepResult Run(ClipBatch batch)
    {
        batch.Validate();
        RequireContext(batch.ContextLength, model.Config.ContextLength);
        using var scope = NewDisposeScope();
        var started = Stopwatch.GetTimestamp();
        var lr = optimizer.Begin();
        model.train();
        var (rows, labels) = TeacherForcing(batch, model.Config.EndOfText, inputs);
        Tensor loss;
        using (MixedPrecision.Autocast(options.ComputeType))
        {
            var embedded = model.Embed(rows);
            var hidden = model.ForwardEmbeddings(embedded);
            loss = LanguageModelLoss.Compute(hidden, labels, model.OutputWeight);
        }
        LossWeighting.Weigh(loss, layout, batch.Count).backward();              // w_r = b_r·W/B; 1 for an even split
        var norm = optimizer.Finish(started, out var phases);
        var value = loss.item<float>();
        return new StageStepResult(optimizer.Step, value, lr, norm, new Dictionary<string, float> { ["lm"] = value }) { Phases = phases };
    }

    /// <summary>Mean next-token loss on held-out caption rows (no gradient).</summary>
    public float Evaluate(ClipBatch batch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var (rows, labels) = TeacherForcing(batch, model.Config.EndOfText, inputs);
        var embedded = model.Embed(rows);
        var hidden = model.ForwardEmbeddings(embedded);
        return LanguageModelLoss.Compute(hidden, labels, model.OutputWeight).item<float>();
    }

    /// <summary>
    /// (B, T) inputs and next-token labels: a caption row's [BOS, row] and row up to its EOT (<see cref="CaptionTargets"/>),
    /// or a conversation row's inputs and targets as the template made them (answers only; no image here).
    /// </summary>
    /// <param name="device">Where the tensors go (the step's model); null: the CPU.</param>
    internal static (Tensor Inputs, Tensor Labels) TeacherForcing(ClipBatch batch, long endOfText, DeviceInputs? device = null)
    {
        Tensor Ids(long[] values) => device?.Of(values, [batch.Count, batch.ContextLength]) ?? tensor(values, [batch.Count, batch.ContextLength]);
        var rows = Ids(batch.Tokens);
        return batch.Targets is { } targets
            ? (rows, Ids(targets))
            : (CaptionTargets.Inputs(rows, endOfText), CaptionTargets.Labels(rows, endOfText));
    }

    internal static void RequireContext(int batchContext, int modelContext)
    {
        if (batchContext > modelContext)
        {
            throw new ArgumentException($"batch context length {batchContext} exceeds the model's {modelContext}");
        }
    }

    public void Dispose() => optimizer.Dispose();
}
