using System.Globalization;
using MmCluster.Shared.Spec;
using MmCluster.Shared.Text;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The run spec's <c>model.overrides</c>: a clip stage's (<see cref="ModelPresetCatalog.ClipFields"/>), and for the BLIP-2 schedule's presets: <c>num_query_tokens</c> (LAVIS's name),
/// <c>layers</c>, <c>width</c>, <c>heads</c>, <c>context_length</c>, <c>embed_dim</c>, and stage 1's
/// <c>itm_positive_weight</c> (a positive number) and <c>itm_negative_sharpness</c> (a non-negative number). An unknown key or a value that is not a positive integer (number) is an
/// error naming it and the keys known.
/// </summary>
internal static class ModelOverrides
{
    public static QFormerConfig Apply(QFormerConfig config, IReadOnlyDictionary<string, string> overrides) =>
        overrides.Aggregate(config, (c, kv) => kv.Key switch
        {
            "num_query_tokens" or "queries" => c with { Queries = Positive(kv) },
            "layers" => c with { Layers = Positive(kv) },
            "width" => c with { Width = Positive(kv) },
            "heads" => c with { Heads = Positive(kv) },
            "context_length" => c with { ContextLength = Positive(kv) },
            "embed_dim" => c with { EmbedDim = Positive(kv) },
            "itm_positive_weight" => c with { ItmPositiveWeight = Number(kv, zeroAllowed: false) },
            "itm_negative_sharpness" => c with { ItmNegativeSharpness = Number(kv, zeroAllowed: true) },
            _ => throw Unknown(kv.Key, "num_query_tokens, layers, width, heads, context_length, embed_dim, itm_positive_weight, itm_negative_sharpness"),
        }).Validate();

    /// <summary>A clip stage's overrides: OpenCLIP's sizes by their snake_case names, and <c>tokenizer</c> (gpt2 or clip-bpe).</summary>
    public static ClipConfig Apply(ClipConfig config, IReadOnlyDictionary<string, string> overrides) =>
        overrides.Aggregate(config, (c, kv) => kv.Key switch
        {
            "image_size" => c with { ImageSize = Positive(kv) },
            "image_channels" => c with { ImageChannels = Positive(kv) },
            "patch_size" => c with { PatchSize = Positive(kv) },
            "vision_width" => c with { VisionWidth = Positive(kv) },
            "vision_layers" => c with { VisionLayers = Positive(kv) },
            "vision_heads" => c with { VisionHeads = Positive(kv) },
            "mlp_ratio" => c with { MlpRatio = Positive(kv) },
            "vocab_size" => c with { VocabSize = Positive(kv) },
            "context_length" => c with { ContextLength = Positive(kv) },
            "text_width" => c with { TextWidth = Positive(kv) },
            "text_layers" => c with { TextLayers = Positive(kv) },
            "text_heads" => c with { TextHeads = Positive(kv) },
            "embed_dim" => c with { EmbedDim = Positive(kv) },
            "init_logit_scale" => c with { InitLogitScale = Number(kv, zeroAllowed: true) },
            // The vocabulary follows the tokenizer: its end of text is the largest id, where the text tower pools.
            "tokenizer" => c with { Tokenizer = kv.Value, VocabSize = TextTokenizers.Names.Contains(kv.Value) ? TextTokenizers.VocabSize(kv.Value) : c.VocabSize },
            _ => throw Unknown(kv.Key, string.Join(", ", ModelPresetCatalog.ClipFields)),
        }).Validate();

    public static CaptionLmConfig Apply(CaptionLmConfig config, IReadOnlyDictionary<string, string> overrides) =>
        overrides.Aggregate(config, (c, kv) => kv.Key switch
        {
            "layers" => c with { Layers = Positive(kv) },
            "width" => c with { Width = Positive(kv) },
            "heads" => c with { Heads = Positive(kv) },
            "context_length" => c with { ContextLength = Positive(kv) },
            _ => throw Unknown(kv.Key, "layers, width, heads, context_length"),
        }).Validate();

    private static int Positive(KeyValuePair<string, string> kv) =>
        int.TryParse(kv.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"model.overrides.{kv.Key}: '{kv.Value}' is not a positive integer");

    private static double Number(KeyValuePair<string, string> kv, bool zeroAllowed) =>
        double.TryParse(kv.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && (value > 0 || (zeroAllowed && value == 0))
            ? value
            : throw new ArgumentException($"model.overrides.{kv.Key}: '{kv.Value}' is not a {(zeroAllowed ? "non-negative" : "positive")} number");

    private static ArgumentException Unknown(string key, string known) =>
        new($"model.overrides.{key} is not a setting of this stage's model (known: {known})");
}
