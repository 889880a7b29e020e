using System.Globalization;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The run spec's <c>model.overrides</c> for the BLIP-2 schedule's presets: <c>num_query_tokens</c> (LAVIS's name),
/// <c>layers</c>, <c>width</c>, <c>heads</c>, <c>context_length</c>, <c>embed_dim</c>, and stage 1's
/// <c>itm_positive_weight</c> (a positive number) and <c>itm_negative_sharpness</c> (a non-negative number). An unknown key or a value that is not a positive integer (number) is an
/// error naming it and the keys known.
/// </summary>
internal static class Blip2ModelOverrides
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
