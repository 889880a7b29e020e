using MmCluster.Shared.Text;

namespace MmCluster.Worker.Model;

/// <summary>
/// The <see cref="ClipConfig"/> an OpenCLIP-named CLIP state dict was built with, read off its tensor shapes (what
/// OpenCLIP's <c>build_model_from_openai_state_dict</c> does for OpenAI's checkpoints), so <c>mmcluster embed</c> loads a
/// converted checkpoint without being told its preset. Shapes fix everything but the head counts: those come from the
/// preset with the same shapes, or else OpenCLIP's default head width of 64; the tokenizer is CLIP's BPE for its
/// 49,408-id vocabulary, else GPT-2's.
/// </summary>
public static class ClipStateDictShapes
{
    /// <summary>OpenCLIP's default head width (vision_cfg.head_width; OpenAI's text towers use width / 64 too).</summary>
    public const int HeadWidth = 64;

    /// <param name="shapes">Tensor name to shape, as in the file.</param>
    /// <param name="source">The file, named in errors.</param>
    /// <returns>The matching preset's config and its name, or an inferred config and null.</returns>
    public static (ClipConfig Config, string? Preset) Infer(IReadOnlyDictionary<string, long[]> shapes, string source)
    {
        long[] Shape(string name, int rank) =>
            shapes.TryGetValue(name, out var shape)
                ? shape.Length == rank ? shape : throw new InvalidDataException($"{source}: tensor '{name}' has shape [{string.Join(", ", shape)}], expected {rank} dimensions")
                : throw new InvalidDataException($"{source}: no tensor '{name}': not a CLIP state dict with OpenCLIP's names");
        var conv = Shape("visual.conv1.weight", 4);                 // (Wv, C, p, p)
        var visionPositions = Shape("visual.positional_embedding", 2); // (g*g + 1, Wv)
        var visionProj = Shape("visual.proj", 2);                   // (Wv, E)
        var tokens = Shape("token_embedding.weight", 2);            // (V, Wt)
        var positions = Shape("positional_embedding", 2);           // (T, Wt)
        var fc = Shape("visual.transformer.resblocks.0.mlp.c_fc.weight", 2); // (ratio * Wv, Wv)
        Shape("text_projection", 2);
        var grid = (int)Math.Round(Math.Sqrt(visionPositions[0] - 1));
        if ((grid * grid) + 1 != visionPositions[0])
        {
            throw new InvalidDataException($"{source}: visual.positional_embedding has {visionPositions[0]} rows, not a square grid plus the class token");
        }
        var visionWidth = (int)conv[0];
        var textWidth = (int)tokens[1];
        var inferred = new ClipConfig
        {
            ImageChannels = (int)conv[1],
            PatchSize = (int)conv[2],
            ImageSize = grid * (int)conv[2],
            VisionWidth = visionWidth,
            VisionLayers = Layers(shapes, "visual.transformer.resblocks."),
            VisionHeads = Math.Max(1, visionWidth / HeadWidth),
            VocabSize = (int)tokens[0],
            Tokenizer = tokens[0] == ClipTokenizer.VocabSize ? TextTokenizers.ClipBpe : TextTokenizers.Gpt2,
            ContextLength = (int)positions[0],
            TextWidth = textWidth,
            TextLayers = Layers(shapes, "transformer.resblocks."),
            TextHeads = Math.Max(1, textWidth / HeadWidth),
            MlpRatio = (int)(fc[0] / visionWidth),
            EmbedDim = (int)visionProj[1],
        };
        foreach (var (name, preset) in ClipConfig.Presets)
        {
            if (preset with { VisionHeads = inferred.VisionHeads, TextHeads = inferred.TextHeads } == inferred)
            {
                return (preset, name);
            }
        }
        try
        {
            return (inferred.Validate(), null);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{source}: the shapes give no valid model ({ex.Message}); pass --preset", ex);
        }
    }

    /// <summary>The number of distinct block indices under <paramref name="prefix"/> (<c>...resblocks.{i}.</c>).</summary>
    private static int Layers(IReadOnlyDictionary<string, long[]> shapes, string prefix) =>
        shapes.Keys
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => k[prefix.Length..].Split('.')[0])
            .Distinct(StringComparer.Ordinal)
            .Count();
}
