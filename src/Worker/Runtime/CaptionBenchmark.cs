using System.Diagnostics;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Training;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Times caption generation (<see cref="CaptionGenerator"/>) with or without the key-value cache, on the model of
/// examples/fashion-mnist-blip2.yaml's blip2-stage2 stage (clip-mini encoder, blip2-tiny Q-Former with 8 queries, lm-tiny
/// with the compact vocabulary of the Fashion-MNIST training captions), randomly initialised, on Gaussian images: greedy
/// in batches like the in-training evaluation, or beam search one image at a time like <c>mmcluster caption --beam</c>.
/// A random model rarely says EOT, so every caption runs to the token limit. What <c>mmcluster bench caption</c> runs.
/// </summary>
public static class CaptionBenchmark
{
    /// <summary>The example's stage-2 model, random weights from <paramref name="seed"/>, in eval mode (dispose it).</summary>
    public static Blip2Stage2Model FashionMnistModel(int seed = 0)
    {
        var tokenizer = new CaptionTokenizer(CaptionLmConfig.Tiny.ContextLength);
        var captions = CaptionTemplates.Training.SelectMany(t => ClassNames.FashionMnist.Select(c => CaptionTemplates.Render(t, c)));
        var vocabulary = new CaptionVocabulary(captions.SelectMany(tokenizer.Encode));
        random.manual_seed(seed);
        var model = new Blip2Stage2Model(
            ClipConfig.Mini,
            QFormerConfig.Tiny with { TextVocabSize = vocabulary.Count },
            CaptionLmConfig.Tiny with { VocabSize = vocabulary.Count });
        model.eval();
        return model;
    }

    /// <param name="images">Images measured (after one unmeasured batch, or image for beam search, to warm up).</param>
    /// <param name="batchSize">Greedy: images per call. Beam search captions one image per call.</param>
    /// <param name="beams">1: greedy; more: beam search.</param>
    public static CaptionBenchmarkResult Run(Blip2Stage2Model model, int images, int batchSize, int beams, int maxTokens, bool useCache, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(images, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(beams, 1);
        var perCall = beams == 1 ? Math.Min(batchSize, images) : 1;
        var batch = StepBenchmark.RandomBatch(model.VisionConfig, images + perCall, new Random(seed));
        using var pixels = tensor(batch.Pixels, batch.PixelShape);
        var ids = new List<long[]>();
        Caption(model, pixels, 0, perCall, beams, maxTokens, useCache);           // warm-up
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        for (var start = perCall; start < images + perCall; start += perCall)
        {
            ids.AddRange(Caption(model, pixels, start, Math.Min(perCall, images + perCall - start), beams, maxTokens, useCache));
        }
        var seconds = watch.Elapsed.TotalSeconds;
        process.Refresh();
        return new CaptionBenchmarkResult(images, seconds, (process.TotalProcessorTime - cpu).TotalSeconds, ids);
    }

    private static long[][] Caption(Blip2Stage2Model model, Tensor pixels, int start, int count, int beams, int maxTokens, bool useCache)
    {
        using var images = pixels.narrow(0, start, count);
        if (beams == 1)
        {
            return CaptionGenerator.Greedy(model, images, maxTokens, useCache);
        }
        using var image = images[0];
        return [CaptionGenerator.Beam(model, image, beams, maxTokens, useCache: useCache)];
    }
}
