using System.Diagnostics;
using TorchSharp;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Loss;

namespace MmCluster.Worker.Training;

/// <summary>
/// Times full training steps (forward, loss, backward, clipping, AdamW) of a model preset on random data in this
/// process: warm-up steps first, then the median of the measured steps. What <c>mmcluster bench step</c> runs (a CLIP
/// preset, or a Q-Former preset for BLIP-2 stage 1's step).
/// </summary>
public static class StepBenchmark
{
    /// <param name="computeType">The forward's matrix-product type (bf16-mixed: BFloat16); null for float32.</param>
    /// <param name="device">Where the model and the batch live ("cpu", "cuda:0", ...).</param>
    public static StepBenchmarkResult Run(ClipConfig config, int batchSize, int warmupSteps, int measuredSteps, int seed = 0, TorchSharp.torch.ScalarType? computeType = null,
        string device = "cpu")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(measuredSteps, 1);
        TorchSharp.torch.random.manual_seed(seed);
        using var model = new ClipModel(config);
        model.to(TorchSharp.torch.device(device));
        var options = new TrainOptions { TotalSteps = warmupSteps + measuredSteps, ComputeType = computeType };
        using var staging = HostStaging.For(device);   // on CUDA the batch goes up from page-locked memory, as in the worker
        using var trainer = new TrainStep(model, options, SingleRankGatherer.Instance, staging: staging);
        return Time(trainer, RandomBatch(config, batchSize, new Random(seed)), model.parameters().Sum(p => p.numel()), warmupSteps, measuredSteps);
    }

    /// <summary>
    /// The same for BLIP-2 stage 1 (<see cref="Blip2Stage1Step"/>: the frozen image encoder of <paramref name="vision"/>, the
    /// Q-Former's ITC + ITM + ITG on one rank) on random images and captions of a <paramref name="textVocab"/>-id caption
    /// vocabulary (the size of the compact vocabulary a run's manifest gives), labelled in 10 classes (ITM's groups).
    /// </summary>
    public static StepBenchmarkResult RunBlip2Stage1(ClipConfig vision, QFormerConfig qformer, int textVocab, int batchSize, int warmupSteps, int measuredSteps,
        int seed = 0, TorchSharp.torch.ScalarType? computeType = null, string device = "cpu")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(measuredSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(textVocab, 2);
        TorchSharp.torch.random.manual_seed(seed);
        var config = qformer with { TextVocabSize = textVocab };
        using var model = new Blip2Stage1Model(vision, config);
        model.to(TorchSharp.torch.device(device));
        var options = new TrainOptions { TotalSteps = warmupSteps + measuredSteps, ComputeType = computeType };
        using var staging = HostStaging.For(device);
        using var trainer = new Blip2Stage1Step(model, options, SingleRankGatherer.Instance, samplingSeed: seed, staging: staging);
        var random = new Random(seed);
        var images = RandomBatch(vision, batchSize, random);
        var captions = RandomBatch(vision with { ContextLength = config.ContextLength, VocabSize = textVocab }, batchSize, random);
        var batch = new ClipBatch(images.Pixels, images.PixelShape, captions.Tokens, config.ContextLength)
        {
            Labels = [.. Enumerable.Range(0, batchSize).Select(i => i % 10)],
        };
        return Time(trainer, batch, model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), warmupSteps, measuredSteps);
    }

    private static StepBenchmarkResult Time(IStageStep trainer, ClipBatch batch, long parameterCount, int warmupSteps, int measuredSteps)
    {
        for (var i = 0; i < warmupSteps; i++)
        {
            trainer.Run(batch);
        }
        var times = new double[measuredSteps];
        var cpuTimes = new double[measuredSteps];
        var loss = 0f;
        using var process = Process.GetCurrentProcess();
        for (var i = 0; i < measuredSteps; i++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            loss = trainer.Run(batch).Loss;
            times[i] = watch.Elapsed.TotalMilliseconds;
            process.Refresh();
            cpuTimes[i] = (process.TotalProcessorTime - cpu).TotalMilliseconds;
        }
        return new StepBenchmarkResult(batch.Count, parameterCount, times, loss) { CpuMilliseconds = cpuTimes };
    }

    /// <summary>Gaussian pixels and random ids below the EOT, each row ended by one EOT at a random length, zeros after.</summary>
    public static ClipBatch RandomBatch(ClipConfig config, int batchSize, Random random)
    {
        var shape = new long[] { batchSize, config.ImageChannels, config.ImageSize, config.ImageSize };
        var pixels = new float[batchSize * config.ImageChannels * config.ImageSize * config.ImageSize];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }
        var context = config.ContextLength;
        var tokens = new long[batchSize * context];
        for (var row = 0; row < batchSize; row++)
        {
            var length = random.Next(1, context);
            for (var t = 0; t < length; t++)
            {
                tokens[(row * context) + t] = random.NextInt64(1, config.EndOfText);
            }
            tokens[(row * context) + length] = config.EndOfText;
        }
        return new ClipBatch(pixels, shape, tokens, context);
    }
}
