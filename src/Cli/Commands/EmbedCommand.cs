using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster embed --checkpoint FILE|DIR [--preset NAME] [--images FILE...] [--texts TEXT...] [--json | --out
/// FILE.safetensors]</c>: the L2-normalized CLIP embeddings of images and texts (<see cref="ClipEmbedder"/>), what
/// OpenCLIP's <c>encode_image</c> / <c>encode_text</c> and normalization give. Text output: each input's first values and
/// the image-text cosine similarities; <c>--json</c>: every embedding; <c>--out</c>: a safetensors file with
/// <c>image_embeddings</c> (N, D), <c>text_embeddings</c> (M, D) and <c>text_ids</c> (M, T).
/// </summary>
internal static class EmbedCommand
{
    private const int Shown = 6;

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "A safetensors state dict with OpenCLIP's names, a clip stage's checkpoint directory, or the run directory.",
            Required = true,
        };
        var preset = new Option<string?>("--preset") { Description = "Model preset (default: the checkpoint's model_config, else read off its shapes)." };
        var stage = new Option<string?>("--stage") { Description = "The stage to take in a run directory (default: the newest clip stage)." };
        var images = new Option<string[]>("--images") { Description = "PNG or JPEG files.", AllowMultipleArgumentsPerToken = true };
        var texts = new Option<string[]>("--texts") { Description = "Texts.", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with every embedding." };
        var outputFile = new Option<string?>("--out") { Description = "Write the embeddings to this safetensors file." };
        var device = InferenceDeviceOption.Create();
        var command = new Command("embed", "L2-normalized CLIP image and text embeddings (OpenCLIP's encode_image / encode_text).")
        {
            checkpoint, preset, stage, images, texts, json, outputFile, device,
        };
        command.SetAction(async (result, ct) => await RunCommands.Guard("embed", () =>
        {
            var (output, error) = (result.InvocationConfiguration.Output, result.InvocationConfiguration.Error);
            try
            {
                return Task.FromResult(Run(output, error, new Request(
                    result.GetValue(checkpoint)!, result.GetValue(preset), result.GetValue(stage), result.GetValue(images) ?? [],
                    result.GetValue(texts) ?? [], result.GetValue(json), result.GetValue(outputFile), InferenceDeviceOption.Resolve(result, device))));
            }
            catch (InvalidDataException e)
            {
                error.WriteLine($"mmcluster embed: {e.Message}");   // a file that is not what --checkpoint promised
                return Task.FromResult(2);
            }
        }));
        return command;
    }

    private sealed record Request(string Checkpoint, string? Preset, string? Stage, string[] Images, string[] Texts, bool Json, string? Out, string Device);

    private static int Run(TextWriter output, TextWriter error, Request request)
    {
        if (request.Images.Length + request.Texts.Length == 0)
        {
            throw new ArgumentException("give --images, --texts or both");
        }
        foreach (var file in request.Images.Where(f => !File.Exists(f)))
        {
            throw new FileNotFoundException($"image '{file}' does not exist", file);
        }
        using var embedder = ClipEmbedder.Load(request.Checkpoint, request.Preset, request.Stage, request.Device);
        error.WriteLine($"embed: {embedder.Path} ({embedder.Preset ?? "config from the checkpoint"}, {embedder.Config.EmbedDim} dims, tokenizer {embedder.Tokenizer ?? "none"}, on {embedder.Device})");
        var imageEmbeddings = embedder.EmbedImages([.. request.Images.Select(f => (f, File.ReadAllBytes(f)))]);
        var (ids, textEmbeddings) = request.Texts.Length > 0 ? embedder.EmbedTexts(request.Texts) : ([], []);
        var embeddings = new Embeddings(request.Images, imageEmbeddings, request.Texts, ids, textEmbeddings);
        if (request.Out is { } path)
        {
            Write(path, embeddings, embedder);
            error.WriteLine($"embed: wrote {path}");
        }
        if (request.Json)
        {
            PrintJson(output, embeddings, embedder);
        }
        else if (request.Out is null)
        {
            PrintText(output, embeddings);
        }
        return 0;
    }

    private sealed record Embeddings(string[] Files, float[][] Images, string[] Texts, long[][] Ids, float[][] TextVectors)
    {
        /// <summary>(images, texts) cosine similarities: the embeddings are unit vectors.</summary>
        public double[][] Similarity() =>
            [.. Images.Select(image => TextVectors.Select(text => (double)image.Zip(text, (a, b) => a * b).Sum()).ToArray())];
    }

    private static void PrintText(TextWriter output, Embeddings e)
    {
        string Head(float[] v) =>
            string.Join(" ", v.Take(Shown).Select(x => x.ToString("+0.000000;-0.000000", CultureInfo.InvariantCulture))) + (v.Length > Shown ? " ..." : "");
        for (var i = 0; i < e.Files.Length; i++)
        {
            output.WriteLine($"image {e.Files[i]}: [{Head(e.Images[i])}] ({e.Images[i].Length} dims)");
        }
        for (var i = 0; i < e.Texts.Length; i++)
        {
            output.WriteLine($"text {JsonSerializer.Serialize(e.Texts[i], Json)}: [{Head(e.TextVectors[i])}] ({e.TextVectors[i].Length} dims)");
        }
        if (e.Files.Length > 0 && e.Texts.Length > 0)
        {
            output.WriteLine("cosine similarity (rows: images, columns: texts in order):");
            var similarity = e.Similarity();
            for (var i = 0; i < e.Files.Length; i++)
            {
                output.WriteLine($"  {string.Join(" ", similarity[i].Select(s => s.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture)))}  {e.Files[i]}");
            }
        }
    }

    private static void PrintJson(TextWriter output, Embeddings e, ClipEmbedder embedder) =>
        output.WriteLine(JsonSerializer.Serialize(new
        {
            checkpoint = embedder.Path,
            preset = embedder.Preset,
            embed_dim = embedder.Config.EmbedDim,
            tokenizer = embedder.Tokenizer,
            images = e.Files.Select((f, i) => new { file = f, embedding = e.Images[i] }),
            texts = e.Texts.Select((t, i) => new { text = t, ids = e.Ids[i], embedding = e.TextVectors[i] }),
            similarity = e.Similarity(),
        }, Json));

    private static void Write(string path, Embeddings e, ClipEmbedder embedder)
    {
        var dim = embedder.Config.EmbedDim;
        SafeTensorEntry Matrix<T>(string name, string dtype, T[][] rows, int width) where T : struct =>
            new(name, dtype, [rows.Length, width], MemoryMarshal.AsBytes(rows.SelectMany(r => r).ToArray().AsSpan()).ToArray());
        var entries = new List<SafeTensorEntry>();
        if (e.Files.Length > 0)
        {
            entries.Add(Matrix("image_embeddings", "F32", e.Images, dim));
        }
        if (e.Texts.Length > 0)
        {
            entries.Add(Matrix("text_embeddings", "F32", e.TextVectors, dim));
            entries.Add(Matrix("text_ids", "I64", e.Ids, embedder.Config.ContextLength));
        }
        SafeTensorsFile.Write(path, entries, new Dictionary<string, string>
        {
            ["checkpoint"] = embedder.Path,
            ["preset"] = embedder.Preset ?? "",
            ["images"] = JsonSerializer.Serialize(e.Files, Json),
            ["texts"] = JsonSerializer.Serialize(e.Texts, Json),
        });
    }
}
