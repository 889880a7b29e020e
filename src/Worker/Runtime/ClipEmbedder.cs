using System.Text.Json;
using MmCluster.Shared.Text;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;
using MmCluster.Worker.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// L2-normalized CLIP embeddings of image files and texts (behind <c>mmcluster embed</c>): what OpenCLIP's
/// <c>encode_image</c> / <c>encode_text</c> followed by normalization give, for retrieval and to check a converted
/// checkpoint. The checkpoint is a safetensors state dict with OpenCLIP's names (a converted OpenCLIP checkpoint, or
/// weights <c>mmcluster model init</c> wrote), a clip stage's checkpoint directory or a run directory. The model's
/// config is the <c>--preset</c>, else the checkpoint's <c>model_config</c>, else read off the shapes
/// (<see cref="ClipStateDictShapes"/>). Texts use the config's tokenizer (<see cref="TextRowTokenizers"/>): CLIP's BPE for
/// the ViT-B presets, GPT-2's for the small ones.
/// </summary>
public sealed class ClipEmbedder : IDisposable
{
    private const int BatchSize = 16;

    private readonly ClipModel model;
    private readonly ImageDecoder decoder;
    private readonly ITextRowTokenizer? tokenizer;
    private readonly Device device;

    private ClipEmbedder(string path, string? preset, ClipModel model, Device device)
    {
        Path = path;
        Preset = preset;
        this.model = model;
        this.device = device;
        // OpenCLIP's eval preprocess: RGB images through the photo pipeline (shorter side resized bicubic, centre crop,
        // CLIP's normalization); identity for an image already the model's square.
        decoder = ImageDecoder.For(model.Config);
        // Texts only when the vocabulary is the named tokenizer's (a test-sized vocabulary has none).
        tokenizer = TextTokenizers.VocabSize(model.Config.Tokenizer) == model.Config.VocabSize
            ? TextRowTokenizers.For(model.Config, maxCaptionChars: int.MaxValue)
            : null;
    }

    /// <summary>The checkpoint file loaded.</summary>
    public string Path { get; }

    /// <summary>The preset the model was built as, or null for a config read off the checkpoint.</summary>
    public string? Preset { get; }

    public ClipConfig Config => model.Config;

    /// <summary>clip-bpe, gpt2, or null when the vocabulary has neither size (texts cannot be embedded).</summary>
    public string? Tokenizer => tokenizer?.Name;

    /// <summary>Where the model runs: cpu or cuda:N.</summary>
    public string Device => device.ToString();

    /// <param name="checkpoint">A safetensors file, a clip stage's checkpoint directory or a run directory.</param>
    /// <param name="preset">A <see cref="ClipConfig.Presets"/> name, or null to take the config from the checkpoint.</param>
    /// <param name="stage">The stage to take in a run directory (null: the newest clip stage).</param>
    /// <param name="device">A resolved device (<see cref="DeviceChoice"/>): cpu or cuda:N.</param>
    public static ClipEmbedder Load(string checkpoint, string? preset = null, string? stage = null, string device = DeviceChoice.Cpu)
    {
        var path = CheckpointLookup.Resolve(checkpoint, stage, ["clip"]);
        var (tensors, meta) = SafeTensorsFile.Read(path);
        var (config, name) = preset is not null
            ? (ClipConfig.FromPreset(preset), preset)
            : meta.TryGetValue("model_config", out var json)
                ? (JsonSerializer.Deserialize<ClipConfig>(json) ?? throw new InvalidDataException($"{path}: empty model_config"), null)
                : ClipStateDictShapes.Infer(tensors.ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal), path);
        var model = new ClipModel(config);
        try
        {
            WeightLoader.Load(model, tensors, path);
            model.eval();
            var on = new Device(device);
            model.to(on);
            return new ClipEmbedder(path, name, model, on);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>(N, EmbedDim) of encoded PNG or JPEG images, each named in errors; RGB models see OpenCLIP's centre crop.</summary>
    public float[][] EmbedImages(IReadOnlyList<(string Name, byte[] Bytes)> images)
    {
        var values = decoder.ValuesPerImage;
        var pixels = new float[images.Count * values];
        for (var i = 0; i < images.Count; i++)
        {
            var (name, bytes) = images[i];
            decoder.Decode(bytes, pixels.AsSpan(i * values, values), name);
        }
        return EmbedPixels(pixels, images.Count);
    }

    /// <summary>(N, EmbedDim) of decoded, normalized pixels: N images of (C, H, W), row-major.</summary>
    public float[][] EmbedPixels(float[] pixels, int count) =>
        Batched(count, (start, n) =>
        {
            var size = Config.ImageChannels * Config.ImageSize * Config.ImageSize;
            var input = tensor(pixels.AsSpan(start * size, n * size).ToArray(), [n, Config.ImageChannels, Config.ImageSize, Config.ImageSize], device: device);
            return model.EncodeImage(input);
        });

    /// <summary>Each text's token row (ContextLength ids) and its (EmbedDim) embedding.</summary>
    public (long[][] Ids, float[][] Embeddings) EmbedTexts(IReadOnlyList<string> texts)
    {
        var context = Config.ContextLength;
        var rows = tokenizer?.EncodeBatch(texts) ?? throw new InvalidOperationException(
            $"{Path}: a vocabulary of {Config.VocabSize} tokens is not the {Config.Tokenizer} tokenizer's ({TextTokenizers.VocabSize(Config.Tokenizer)}); texts cannot be embedded");
        var ids = Enumerable.Range(0, texts.Count).Select(i => rows.AsSpan(i * context, context).ToArray()).ToArray();
        return (ids, EmbedTokens(rows, texts.Count));
    }

    /// <summary>(N, EmbedDim) of token rows: N rows of ContextLength ids, row-major, each with its end token the largest id.</summary>
    public float[][] EmbedTokens(long[] rows, int count) =>
        Batched(count, (start, n) =>
        {
            var context = Config.ContextLength;
            var input = tensor(rows.AsSpan(start * context, n * context).ToArray(), [n, context], device: device);
            return model.EncodeText(input);
        });

    /// <summary>Runs <paramref name="encode"/> (start, count) -> (count, EmbedDim) over batches, each in its own scope.</summary>
    private static float[][] Batched(int count, Func<int, int, Tensor> encode)
    {
        var result = new List<float[]>(count);
        for (var start = 0; start < count; start += BatchSize)
        {
            var n = Math.Min(BatchSize, count - start);
            using var scope = torch.NewDisposeScope();
            using var _ = no_grad();
            var features = encode(start, n);                      // (n, E)
            var dim = (int)features.shape[1];
            var values = features.cpu().contiguous().data<float>().ToArray();
            for (var i = 0; i < n; i++)
            {
                result.Add(values.AsSpan(i * dim, dim).ToArray());
            }
        }
        return [.. result];
    }

    public void Dispose() => model.Dispose();
}
