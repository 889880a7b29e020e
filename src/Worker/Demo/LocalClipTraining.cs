using System.Diagnostics;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Demo;

/// <summary>
/// A single-process CLIP training on Fashion-MNIST with template captions, then zero-shot evaluation on the 10k test
/// images with held-out templates: the proof that model + loss + optimizer learn, and the place where the demo's
/// settings (preset, batch, learning rate, warm-up, steps) were chosen.
/// </summary>
public static class LocalClipTraining
{
    public static LocalTrainingReport Run(LocalTrainingSettings settings, Action<string>? log = null)
    {
        torch.set_num_threads(settings.Threads);
        torch.random.manual_seed(settings.Seed);
        var train = FashionMnist.Load(settings.DataDirectory, "train");
        var test = FashionMnist.Load(settings.DataDirectory, "t10k");
        var config = ClipConfig.FromPreset(settings.Preset);
        var tokenizer = new CaptionTokenizer(config.ContextLength);
        var captions = FashionMnist.ClassNames
            .Select(c => FashionMnist.TrainingTemplates.Select(t => tokenizer.Encode(t.Replace("{}", c, StringComparison.Ordinal))).ToArray())
            .ToArray();   // [class][template] -> ids
        using var model = new ClipModel(config);
        var options = new TrainOptions
        {
            LearningRate = settings.LearningRate, WarmupSteps = settings.WarmupSteps, TotalSteps = settings.Steps,
            WeightDecay = settings.WeightDecay,
        };
        using var trainer = new TrainStep(model, options, SingleRankGatherer.Instance);
        var random = new Random(settings.Seed);
        var order = Enumerable.Range(0, train.Count).ToArray();
        var cursor = order.Length;
        var trainSeconds = 0.0;   // batches + steps only, evaluations excluded
        var loss = float.NaN;
        var evaluations = new List<(long Step, double Seconds, double Top1)>();
        for (var step = 0; step < settings.Steps; step++)
        {
            var watch = Stopwatch.StartNew();
            var batch = NextBatch(train, captions, settings.BatchSize, config.ContextLength, order, ref cursor, random);
            var result = trainer.Run(batch);
            trainSeconds += watch.Elapsed.TotalSeconds;
            loss = result.Loss;
            if (result.Step % settings.LogEvery == 0)
            {
                log?.Invoke($"step {result.Step} loss {result.Loss:F3} lr {result.LearningRate:E2} grad-norm {result.GradNorm:F2} scale {result.LogitScale:F1} t {trainSeconds:F0}s");
            }
            if (settings.EvalEvery > 0 && result.Step % settings.EvalEvery == 0 && result.Step < settings.Steps)
            {
                var top1 = ZeroShot(model, tokenizer, test);
                evaluations.Add((result.Step, trainSeconds, top1));
                log?.Invoke($"step {result.Step}: zero-shot top-1 {top1:P1} at {trainSeconds:F0}s of training");
            }
        }
        var final = ZeroShot(model, tokenizer, test);
        evaluations.Add((settings.Steps, trainSeconds, final));
        log?.Invoke($"final: zero-shot top-1 {final:P1} after {settings.Steps} steps, {trainSeconds:F0}s of training");
        return new LocalTrainingReport(settings.Steps, trainSeconds, loss, final, evaluations);
    }

    private static double ZeroShot(ClipModel model, CaptionTokenizer tokenizer, FashionMnist test)
    {
        var pixels = new float[test.Count * FashionMnist.Pixels];
        for (var i = 0; i < test.Count; i++)
        {
            test.WriteNormalized(i, pixels.AsSpan(i * FashionMnist.Pixels, FashionMnist.Pixels));
        }
        var evaluator = new ClipEvaluator(model, tokenizer);
        using var features = evaluator.EncodeImages(pixels, test.Count);
        return evaluator.ZeroShotTop1(features, [.. test.Labels.Select(l => (int)l)], FashionMnist.ClassNames, FashionMnist.HeldOutTemplates);
    }

    /// <summary>Samples without replacement (reshuffled each epoch), each caption from a random training template.</summary>
    private static ClipBatch NextBatch(FashionMnist data, long[][][] captions, int size, int context, int[] order, ref int cursor, Random random)
    {
        var pixels = new float[size * FashionMnist.Pixels];
        var tokens = new long[size * context];
        var labels = new int[size];
        for (var i = 0; i < size; i++)
        {
            if (cursor == order.Length)
            {
                random.Shuffle(order);
                cursor = 0;
            }
            var index = order[cursor++];
            var label = data.Labels[index];
            data.WriteNormalized(index, pixels.AsSpan(i * FashionMnist.Pixels, FashionMnist.Pixels));
            var templates = captions[label];
            templates[random.Next(templates.Length)].CopyTo(tokens.AsSpan(i * context, context));
            labels[i] = label;
        }
        return new ClipBatch(pixels, [size, 1, FashionMnist.Side, FashionMnist.Side], tokens, context) { Labels = labels };
    }
}
