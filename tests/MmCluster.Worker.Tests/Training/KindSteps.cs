using MmCluster.Collectives;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Llava;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Tests.Blip2;
using MmCluster.Worker.Tests.Llava;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Training;

/// <summary>
/// The step of every stage kind other than clip on a micro model, built as its session builds it (frozen parts, the
/// gatherer or batch layout over the group, the staging), and batches it trains on: the device and precision specs'
/// common ground.
/// </summary>
internal static class KindSteps
{
    /// <summary>Every kind but clip (whose step <c>HostStagingSpecs</c> and <c>MixedPrecisionSpecs</c> cover).</summary>
    public static TheoryData<string> Kinds() =>
        new() { "lm", "blip2-stage1", "blip2-stage2", "llava-align", "llava-instruct", "instructblip", "plora" };

    /// <summary>A fresh micro model of <paramref name="kind"/> (its weights drawn from the global generator: copy them in).</summary>
    public static nn.Module NewModel(string kind) => kind switch
    {
        "lm" => new CaptionLm(Blip2Fixtures.Lm),
        "blip2-stage1" => new Blip2Stage1Model(Blip2Fixtures.Vision, Blip2Fixtures.QFormer),
        "blip2-stage2" => new Blip2Stage2Model(Blip2Fixtures.Vision, Blip2Fixtures.QFormer, Blip2Fixtures.Lm),
        "instructblip" => new InstructBlipModel(Blip2Fixtures.Vision, Blip2Fixtures.QFormer, Blip2Fixtures.Lm),
        "plora" => new PloraModel(LlavaFixtures.Vision, LlavaFixtures.Lm, LlavaFixtures.Plora),
        "llava-align" or "llava-instruct" => new LlavaModel(LlavaFixtures.Vision, LlavaFixtures.Lm),
        _ => throw new ArgumentException($"no step for kind '{kind}'", nameof(kind)),
    };

    /// <summary>
    /// The kind's step on <paramref name="model"/> over <paramref name="group"/> (null: one rank, nothing averaged), with
    /// the averager and staging given, as the kind's session builds it.
    /// </summary>
    public static IStageStep NewStep(string kind, nn.Module model, TrainOptions options, ICollectiveGroup? group = null,
        IGradientAverager? averager = null, HostStaging? staging = null)
    {
        IBatchLayout? layout = group is null ? null : new GroupBatchLayout(group);
        return (kind, model) switch
        {
            ("lm", CaptionLm lm) => new LmTrainStep(lm, options, averager, layout, staging),
            ("blip2-stage1", Blip2Stage1Model s1) => new Blip2Stage1Step(s1, options,
                group is null ? SingleRankGatherer.Instance : new CollectiveFeatureGatherer(group, staging: staging), averager, samplingSeed: 5, staging),
            ("blip2-stage2", Blip2Stage2Model s2) => new Blip2Stage2Step(s2, options, averager, layout: layout, staging: staging),
            ("instructblip", InstructBlipModel ib) => new ChatStep<InstructBlipModel>(ib, ib.FrozenPrefixes, options, averager, layout, staging),
            ("plora", PloraModel p) => new ChatStep<PloraModel>(p, PloraModel.FrozenPrefixes, options, averager, layout, staging),
            ("llava-align", LlavaModel l) => new ChatStep<LlavaModel>(l, LlavaModel.AlignFrozenPrefixes, options, averager, layout, staging),
            ("llava-instruct", LlavaModel l) => new ChatStep<LlavaModel>(l, LlavaModel.InstructFrozenPrefixes, options, averager, layout, staging),
            _ => throw new ArgumentException($"no step for kind '{kind}' on {model.GetName()}", nameof(kind)),
        };
    }

    /// <summary>A batch of <paramref name="rows"/> for <paramref name="kind"/>: caption rows, or conversation rows for the chat kinds.</summary>
    public static ClipBatch Batch(string kind, int rows, int seed) =>
        kind is "lm" or "blip2-stage1" or "blip2-stage2" ? Blip2Fixtures.Batch(rows, seed) : Conversations(rows, seed, instructions: kind == "instructblip");

    /// <summary>
    /// Conversation rows of 6 inputs, the image before input 1, the last 3 or 4 positions supervised (the rest -100), and
    /// for InstructBLIP a question of 2 to 4 ids, its end of text and padding in 8 instruction positions.
    /// </summary>
    public static ClipBatch Conversations(int rows, int seed, bool instructions)
    {
        const int context = 6;
        const int instructionLength = 8;
        var rng = new Random(seed);
        var side = LlavaFixtures.Vision.ImageSize;
        var eot = LlavaFixtures.Lm.EndOfText;
        var pixels = Enumerable.Range(0, rows * side * side).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
        var tokens = Enumerable.Range(0, rows * context).Select(_ => (long)rng.Next(1, (int)eot)).ToArray();
        var targets = new long[rows * context];
        var questions = new long[rows * instructionLength];
        for (var r = 0; r < rows; r++)
        {
            var answerFrom = rng.Next(2, 4);
            for (var t = 0; t < context; t++)
            {
                targets[(r * context) + t] = t < answerFrom ? CaptionTargets.IgnoreIndex : t == context - 1 ? eot : tokens[(r * context) + t + 1];
            }
            var length = rng.Next(2, 5);
            for (var t = 0; t < length; t++)
            {
                questions[(r * instructionLength) + t] = rng.Next(1, (int)eot);
            }
            questions[(r * instructionLength) + length] = eot;
        }
        return new ClipBatch(pixels, [rows, 1, side, side], tokens, context)
        {
            Targets = targets,
            ImagePosition = 1,
            Instructions = instructions ? questions : null,
            InstructionLength = instructions ? instructionLength : 0,
        };
    }

    /// <summary>Copies <paramref name="values"/> (a state dict's tensors by name) into <paramref name="model"/>.</summary>
    public static void Load(nn.Module model, IReadOnlyDictionary<string, Tensor> values, double offset = 0)
    {
        using var _ = no_grad();
        foreach (var (name, target) in model.state_dict())
        {
            target.copy_(values[name]);
            if (offset != 0 && target.is_floating_point())
            {
                target.add_(offset);
            }
        }
    }

    /// <summary>A detached copy of every state-dict tensor of <paramref name="model"/>, by name (dispose them).</summary>
    public static Dictionary<string, Tensor> Copy(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    /// <summary>Each parameter's values (or gradient; empty without one) as doubles, by name, in the model's order.</summary>
    public static List<(string Name, double[] Values)> Values(nn.Module model, Func<Tensor, Tensor?> pick) =>
        [.. model.named_parameters().Select(p => (p.name, pick(p.parameter) is { } t ? t.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray() : []))];
}
