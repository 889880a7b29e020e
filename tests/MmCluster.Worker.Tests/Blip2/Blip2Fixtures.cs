using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Training;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>Micro-sized BLIP-2 models and deterministic batches for the specs (vocabulary 64, context 8, 8x8 images).</summary>
internal static class Blip2Fixtures
{
    public const long ModelSeed = 20240611;

    public static ClipConfig Vision => ClipConfig.Micro;

    public static QFormerConfig QFormer => QFormerConfig.Micro;

    public static CaptionLmConfig Lm => CaptionLmConfig.Micro;

    public static Blip2Stage1Model NewStage1(long seed = ModelSeed, QFormerConfig? qformer = null)
    {
        random.manual_seed(seed);
        return new Blip2Stage1Model(Vision, qformer ?? QFormer);
    }

    public static Blip2Stage2Model NewStage2(long seed = ModelSeed)
    {
        random.manual_seed(seed);
        return new Blip2Stage2Model(Vision, QFormer, Lm);
    }

    /// <summary>The stages whose steps <see cref="NewStep"/> builds.</summary>
    public static TheoryData<string> StepStages() => new() { "lm", "blip2-stage1", "blip2-stage2" };

    /// <summary>A fresh micro model of <paramref name="stage"/> (lm, blip2-stage1, blip2-stage2) and its step on one rank; dispose both.</summary>
    public static (nn.Module Model, IStageStep Step) NewStep(string stage, TrainOptions options)
    {
        nn.Module model = stage switch
        {
            "lm" => new CaptionLm(Lm),
            "blip2-stage1" => NewStage1(),
            _ => NewStage2(),
        };
        IStageStep step = model switch
        {
            CaptionLm lm => new LmTrainStep(lm, options),
            Blip2Stage1Model s1 => new Blip2Stage1Step(s1, options, SingleRankGatherer.Instance),
            _ => new Blip2Stage2Step((Blip2Stage2Model)model, options),
        };
        return (model, step);
    }

    /// <summary>n pairs: random pixels; captions of 1..5 random ids, EOT (63), zero padding; labels i mod 3.</summary>
    public static ClipBatch Batch(int n, int seed = 7)
    {
        var rng = new Random(seed);
        var context = QFormer.ContextLength;
        var side = Vision.ImageSize;
        var pixels = Enumerable.Range(0, n * side * side).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
        var tokens = new long[n * context];
        for (var i = 0; i < n; i++)
        {
            var length = rng.Next(1, 6);
            for (var t = 0; t < length; t++)
            {
                tokens[(i * context) + t] = rng.Next(1, (int)QFormer.EndOfText);
            }
            tokens[(i * context) + length] = QFormer.EndOfText;
        }
        return new ClipBatch(pixels, [n, 1, side, side], tokens, context) { Labels = [.. Enumerable.Range(0, n).Select(i => i % 3)] };
    }

    public static ClipBatch Slice(ClipBatch batch, int start, int count)
    {
        var perImage = batch.Pixels.Length / batch.Count;
        return new ClipBatch(
            batch.Pixels.AsSpan(start * perImage, count * perImage).ToArray(),
            [count, .. batch.PixelShape[1..]],
            batch.Tokens.AsSpan(start * batch.ContextLength, count * batch.ContextLength).ToArray(),
            batch.ContextLength)
        { Labels = batch.Labels.Length == 0 ? [] : batch.Labels.AsSpan(start, count).ToArray() };
    }

    public static (Tensor Images, Tensor Captions) Tensors(ClipBatch batch) =>
        (tensor(batch.Pixels, batch.PixelShape), tensor(batch.Tokens, [batch.Count, batch.ContextLength]));

    /// <summary>
    /// Makes <paramref name="replica"/> an exact copy of <paramref name="source"/>'s parameters: replicas built one after
    /// the other from the global seed can still differ when another test consumes the global generator in between.
    /// </summary>
    public static T Replicate<T>(T source, T replica) where T : nn.Module
    {
        using var _ = no_grad();
        var values = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in replica.named_parameters())
        {
            parameter.copy_(values[name]);
        }
        return replica;
    }

    /// <summary>Every parameter's values as doubles, by name.</summary>
    public static Dictionary<string, float[]> Snapshot(nn.Module model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu().data<float>().ToArray());
}
