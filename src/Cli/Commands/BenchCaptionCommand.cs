using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster bench caption --cache on|off --beams 1 --images 200 --batch 100 --max-tokens 16 --threads 1 [--json]</c>:
/// images captioned per second by the blip2-stage2 model of examples/fashion-mnist-blip2.yaml, randomly initialised
/// (<see cref="CaptionBenchmark"/>), with or without the key-value cache.
/// </summary>
internal static class BenchCaptionCommand
{
    public static Command Create()
    {
        var cache = new Option<string>("--cache") { Description = "Key-value cache: on or off.", DefaultValueFactory = _ => "on" };
        cache.AcceptOnlyFromAmong("on", "off");
        var beams = new Option<int>("--beams") { Description = "Beam width (1: greedy, in batches).", DefaultValueFactory = _ => 1 };
        var images = new Option<int>("--images") { Description = "Images measured (after one unmeasured call).", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { Description = "Greedy: images per call.", DefaultValueFactory = _ => 100 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest caption, in tokens.", DefaultValueFactory = _ => 16 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (torch.set_num_threads).", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights and images.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("caption", "Time caption generation (greedy or beam search) with or without the key-value cache, on a random-weight blip2-tiny stage-2 model.")
        {
            cache, beams, images, batch, maxTokens, threads, seed, json,
        };
        command.SetAction(parseResult => Run(
            parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, parseResult.GetValue(cache) == "on",
            parseResult.GetValue(beams), parseResult.GetValue(images), parseResult.GetValue(batch), parseResult.GetValue(maxTokens),
            parseResult.GetValue(threads), parseResult.GetValue(seed), parseResult.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter output, TextWriter error, bool useCache, int beams, int images, int batch, int maxTokens, int threads, int seed, bool json)
    {
        if (beams < 1 || images < 1 || batch < 1 || maxTokens < 1 || threads < 1)
        {
            error.WriteLine("mmcluster bench caption: --beams, --images, --batch, --max-tokens and --threads must be at least 1");
            return 2;
        }
        TorchSharp.torch.set_num_threads(threads);
        using var model = CaptionBenchmark.FashionMnistModel(seed);
        var result = CaptionBenchmark.Run(model, images, batch, beams, maxTokens, useCache, seed);
        var cacheText = useCache ? "on" : "off";
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                model = "blip2-tiny (examples/fashion-mnist-blip2.yaml stage 2, random weights)",
                cache = cacheText,
                beams,
                images,
                batch = beams == 1 ? Math.Min(batch, images) : 1,
                max_tokens = maxTokens,
                threads,
                vocabulary = model.LanguageModel.Config.VocabSize,
                seconds = Math.Round(result.Seconds, 3),
                cpu_seconds = Math.Round(result.CpuSeconds, 3),
                images_per_s = Math.Round(result.ImagesPerSecond, 2),
                images_per_cpu_s = Math.Round(result.ImagesPerCpuSecond, 2),
                tokens = result.Tokens,
                captions_hash = result.CaptionsHash,
            }));
        }
        else
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"blip2-tiny, cache {cacheText}, {(beams == 1 ? $"greedy (batch {Math.Min(batch, images)})" : $"{beams} beams")}, {images} images, max {maxTokens} tokens, {threads} thread(s): {result.ImagesPerSecond:F2} images/s ({result.ImagesPerCpuSecond:F2} per CPU second), {result.Tokens} tokens, captions {result.CaptionsHash}"));
        }
        return 0;
    }
}
