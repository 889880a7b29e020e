using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MmCluster.Shared.Manifest;
using MmCluster.Worker.Training;
using MmCluster.Worker.Training.Photos;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster bench input --manifest DIR --image-size 224 --threads T [--batch B] [--limit N] [--passes P] [--train] [--json]</c>:
/// how fast the photo pipeline turns a manifest's encoded images into normalized (B, 3, S, S) batches. The image bytes
/// are read from the manifest first, so the figure is decode + crop + resize + normalize only, on T decode threads
/// (<see cref="PhotoBatchLoader"/>); the median of P passes is reported, with samples/s per thread, per CPU-second
/// the process used, and MB/s of encoded bytes.
/// </summary>
internal static class BenchInputCommand
{
    public static Command Create()
    {
        var manifest = new Option<string>("--manifest") { Description = "A manifest folder with image bytes (e.g. from bench/make-photo-set.sh).", Required = true };
        var size = new Option<int>("--image-size") { Description = "Output side S (the model's image size).", DefaultValueFactory = _ => 224 };
        var threads = new Option<int>("--threads") { Description = "Decode threads.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch") { Description = "Images per batch.", DefaultValueFactory = _ => 64 };
        var limit = new Option<int>("--limit") { Description = "Use at most this many images (0: all).", DefaultValueFactory = _ => 0 };
        var passes = new Option<int>("--passes") { Description = "Timed passes over the images (the median is reported).", DefaultValueFactory = _ => 3 };
        var train = new Option<bool>("--train") { Description = "Training transform (random-resized-crop) instead of the evaluation centre crop." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("input", "Time the photo pipeline: decode, crop, resize and normalize a manifest's images into batches.")
        {
            manifest, size, threads, batch, limit, passes, train, json,
        };
        command.SetAction((result, ct) => RunAsync(
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, result.GetValue(manifest)!,
            new Settings(result.GetValue(size), result.GetValue(threads), result.GetValue(batch), result.GetValue(limit), result.GetValue(passes), result.GetValue(train)),
            result.GetValue(json), ct));
        return command;
    }

    private sealed record Settings(int Size, int Threads, int Batch, int Limit, int Passes, bool Train);

    private static async Task<int> RunAsync(TextWriter output, TextWriter error, string folder, Settings settings, bool json, CancellationToken ct)
    {
        if (settings.Size < 1 || settings.Threads < 1 || settings.Batch < 1 || settings.Limit < 0 || settings.Passes < 1)
        {
            error.WriteLine("mmcluster bench input: --image-size, --threads, --batch and --passes must be at least 1, --limit at least 0");
            return 2;
        }
        if (!Directory.Exists(folder))
        {
            error.WriteLine($"mmcluster bench input: no manifest folder '{folder}'");
            return 2;
        }
        var images = await LoadAsync(folder, settings.Limit, ct);
        if (images.Count == 0)
        {
            error.WriteLine($"mmcluster bench input: '{folder}' has no rows with images");
            return 1;
        }
        var decoder = new PhotoDecoder(settings.Size, ImageDecoder.ClipMean, ImageDecoder.ClipStd);
        var samples = images.Select((row, i) => new PhotoSample(row.Image, row.Key,
            settings.Train ? PhotoCrop.Training(PhotoTransform.SampleSeed(17, 0, row.Key)) : PhotoCrop.Center)).ToList();
        Pass(decoder, samples.Take(Math.Min(samples.Count, 2 * settings.Threads)).ToList(), settings);   // JIT and thread start-up, not timed
        var timed = Enumerable.Range(0, settings.Passes).Select(_ => Pass(decoder, samples, settings)).OrderBy(p => p.Seconds).ToList();
        var median = timed[timed.Count / 2];
        var bytes = images.Sum(r => (long)r.Image.Length);
        var pixels = images.Sum(r => r.Pixels);
        var perSecond = samples.Count / median.Seconds;
        var result = new
        {
            measures = "decode + crop + resize + normalize into batches; image bytes were read from the manifest before timing",
            images = samples.Count,
            transform = settings.Train ? "random-resized-crop" : "centre-crop",
            image_size = settings.Size,
            threads = settings.Threads,
            batch = settings.Batch,
            mean_megapixels = Math.Round(pixels / 1e6 / images.Count, 2),
            passes = settings.Passes,
            samples_per_s = Math.Round(perSecond, 1),
            samples_per_s_per_thread = Math.Round(perSecond / settings.Threads, 1),
            samples_per_cpu_s = Math.Round(samples.Count / median.CpuSeconds, 1),
            jpeg_mb_per_s = Math.Round(bytes / 1e6 / median.Seconds, 1),
            pass_seconds = timed.Select(p => Math.Round(p.Seconds, 3)).ToArray(),
        };
        output.WriteLine(json
            ? JsonSerializer.Serialize(result)
            : string.Create(CultureInfo.InvariantCulture, $"{result.images} images ({bytes / 1e6:F1} MB encoded, {result.mean_megapixels} megapixels each on average), {result.transform} to {settings.Size}x{settings.Size}, ")
                + string.Create(CultureInfo.InvariantCulture, $"batches of {settings.Batch}, {settings.Threads} decode thread(s): {result.samples_per_s} samples/s ({result.samples_per_s_per_thread} per thread, ")
                + string.Create(CultureInfo.InvariantCulture, $"{result.samples_per_cpu_s} per CPU-second), {result.jpeg_mb_per_s} MB/s of encoded images; median of {settings.Passes} passes. ")
                + "Decode + transform only: the bytes were read from the manifest first.");
        return 0;
    }

    private sealed record LoadedImage(string Key, byte[] Image, long Pixels);

    /// <summary>Every row's image bytes (at most <paramref name="limit"/>), in file and row order.</summary>
    private static async Task<List<LoadedImage>> LoadAsync(string folder, int limit, CancellationToken ct)
    {
        var summary = await ParquetManifestReader.InspectAsync(folder, ct);
        var shards = ShardPlanner.BuildShards(summary.Files);
        await using var reader = new ParquetManifestReader(folder);
        var images = new List<LoadedImage>();
        foreach (var shard in shards.OrderBy(s => s.File, StringComparer.Ordinal).ThenBy(s => s.FirstRowGroup))
        {
            await foreach (var row in reader.ReadShardAsync(shard, cancellationToken: ct))
            {
                if (limit > 0 && images.Count == limit)
                {
                    return images;
                }
                using var data = SkiaSharp.SKData.CreateCopy(row.Image);
                using var codec = SkiaSharp.SKCodec.Create(data);
                images.Add(new LoadedImage(row.Key, row.Image, codec is null ? 0 : (long)codec.Info.Width * codec.Info.Height));
            }
        }
        return images;
    }

    private readonly record struct PassTime(double Seconds, double CpuSeconds);

    /// <summary>One pass: every sample into batches on the loader's threads; wall and process CPU seconds.</summary>
    private static PassTime Pass(PhotoDecoder decoder, IReadOnlyList<PhotoSample> samples, Settings settings)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var checksum = 0.0;
        using (var loader = new PhotoBatchLoader(decoder, samples, settings.Batch, settings.Threads))
        {
            foreach (var batch in loader.ReadAll())
            {
                using (batch)
                {
                    checksum += batch.Pixels.Span[^1];   // the consumer reads the batch, as a step would
                }
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        return double.IsNaN(checksum) ? throw new InvalidDataException("a batch held NaN") : new PassTime(seconds, (process.TotalProcessorTime - cpu).TotalSeconds);
    }
}
