namespace MmCluster.Shared.Spec;

/// <summary>
/// The model presets a spec may name. The worker owns the actual sizes; this list only lets the coordinator reject a
/// misspelt preset or override before any process starts. <see cref="Default"/> matches the worker's presets.
/// </summary>
public sealed class ModelPresetCatalog
{
    /// <summary>The <c>model.overrides</c> a clip preset takes (the worker applies exactly these).</summary>
    public static IReadOnlyList<string> ClipFields { get; } =
    [
        "image_size", "image_channels", "patch_size", "vision_width", "vision_layers", "vision_heads", "mlp_ratio",
        "vocab_size", "context_length", "text_width", "text_layers", "text_heads", "embed_dim", "init_logit_scale", "tokenizer",
    ];

    private static readonly string[] LmFields =
        ["vocab_size", "context_length", "width", "layers", "heads", "mlp_ratio", "dropout"];

    private static readonly string[] QFormerFields =
        ["num_query_tokens", "width", "layers", "heads", "mlp_ratio", "cross_attention_every", "embed_dim", "max_text_length", "prompt",
         "itm_positive_weight", "itm_negative_sharpness"];

    /// <summary>A chat stage's generation limit (answers and captions in evaluation and <c>mmcluster ask</c>).</summary>
    private static readonly string[] ChatFields = ["max_answer_tokens"];

    private readonly Dictionary<string, ModelPreset> _presets;

    public ModelPresetCatalog(IEnumerable<ModelPreset> presets)
    {
        _presets = presets.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    public static ModelPresetCatalog Default { get; } = new(
    [
        new ModelPreset("clip-tiny", [StageKind.Clip], ClipFields),
        new ModelPreset("clip-mini", [StageKind.Clip], ClipFields),
        new ModelPreset("ViT-B-32", [StageKind.Clip], ClipFields),
        new ModelPreset("ViT-B-16", [StageKind.Clip], ClipFields),
        new ModelPreset("ViT-B-32-quickgelu", [StageKind.Clip], ClipFields),
        new ModelPreset("ViT-B-16-quickgelu", [StageKind.Clip], ClipFields),
        new ModelPreset("lm-tiny", [StageKind.Lm], LmFields),
        new ModelPreset("lm-chat", [StageKind.Lm], LmFields),
        new ModelPreset("blip2-tiny", [StageKind.Blip2Stage1, StageKind.Blip2Stage2, StageKind.InstructBlip], QFormerFields),
        new ModelPreset("llava-tiny", [StageKind.LlavaAlign, StageKind.LlavaInstruct], ChatFields),
        new ModelPreset("plora-tiny", [StageKind.Plora], [.. ChatFields, "lora_rank", "lora_alpha"]),
    ]);

    public IReadOnlyCollection<string> Names => _presets.Keys;

    public ModelPreset? Find(string name) => _presets.GetValueOrDefault(name);
}
