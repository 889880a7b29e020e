using MmCluster.Shared.Text;

namespace MmCluster.Worker.Model;

/// <summary>
/// CLIP hyperparameters (the way nanoGPT keeps GPTConfig): a ViT image tower and a causal text transformer meeting in a
/// shared embedding space. Presets are named so a run spec and <c>bench step</c> can refer to them.
/// </summary>
public sealed record ClipConfig
{
    public int ImageChannels { get; init; } = 1;
    public int ImageSize { get; init; } = 28;
    public int PatchSize { get; init; } = 4;
    public int VisionWidth { get; init; } = 128;
    public int VisionLayers { get; init; } = 4;
    public int VisionHeads { get; init; } = 4;

    public int VocabSize { get; init; } = 50257;

    /// <summary>
    /// The text tokenizer (<see cref="TextTokenizers"/>): GPT-2's BPE for the small presets, CLIP's BPE for OpenCLIP's.
    /// A checkpoint written before this setting existed reads as GPT-2's.
    /// </summary>
    public string Tokenizer { get; init; } = TextTokenizers.Gpt2;
    public int ContextLength { get; init; } = 32;
    public int TextWidth { get; init; } = 128;
    public int TextLayers { get; init; } = 4;
    public int TextHeads { get; init; } = 4;

    public int MlpRatio { get; init; } = 4;
    public int EmbedDim { get; init; } = 128;

    /// <summary>
    /// QuickGELU instead of exact GELU in both towers' MLPs: OpenCLIP's <c>-quickgelu</c> configs, which OpenAI's released
    /// weights need. Not in a state dict (no parameters), so a converted checkpoint says it by its preset.
    /// </summary>
    public bool QuickGelu { get; init; }

    /// <summary>Initial logit scale, log(1/0.07), as in CLIP and OpenCLIP.</summary>
    public double InitLogitScale { get; init; } = Math.Log(1 / 0.07);

    /// <summary>The benchmark model: exactly the sizes compared with PyTorch (issue 4).</summary>
    public static ClipConfig Tiny { get; } = new();

    /// <summary>The Fashion-MNIST demo model: 2 layers per tower, width 128 (learns in minutes on 2 cores).</summary>
    public static ClipConfig Mini { get; } = new() { VisionLayers = 2, TextLayers = 2 };

    /// <summary>For unit tests only: a few thousand parameters.</summary>
    public static ClipConfig Micro { get; } = new()
    {
        ImageSize = 8, PatchSize = 4, VisionWidth = 16, VisionLayers = 1, VisionHeads = 2,
        VocabSize = 64, ContextLength = 8, TextWidth = 16, TextLayers = 1, TextHeads = 2, EmbedDim = 8,
    };

    /// <summary>
    /// OpenCLIP's ViT-B-32 (model_configs/ViT-B-32.json): 224x224 RGB in 32x32 patches, a 12-layer width-768 image tower,
    /// a 12-layer width-512 text tower over CLIP's BPE (49,408 tokens, 77 positions), 512-wide embeddings; 151,277,313
    /// parameters under OpenCLIP's names and shapes.
    /// </summary>
    public static ClipConfig VitB32 { get; } = new()
    {
        ImageChannels = 3, ImageSize = 224, PatchSize = 32, VisionWidth = 768, VisionLayers = 12, VisionHeads = 12,
        VocabSize = ClipTokenizer.VocabSize, ContextLength = ClipTokenizer.DefaultContextLength, Tokenizer = TextTokenizers.ClipBpe,
        TextWidth = 512, TextLayers = 12, TextHeads = 8, EmbedDim = 512,
    };

    /// <summary>OpenCLIP's ViT-B-16: ViT-B-32 with 16x16 patches (197 image tokens); 149,620,737 parameters.</summary>
    public static ClipConfig VitB16 { get; } = VitB32 with { PatchSize = 16 };

    /// <summary>
    /// For tests only: OpenCLIP's ViT architecture at a few tens of thousands of parameters (RGB 32x32 in 8x8 patches,
    /// 2 layers of width 32 per tower, 256 tokens, 16 positions), the size of the committed OpenCLIP equality fixture
    /// (bench/openclip_reference.py <c>fixture</c>).
    /// </summary>
    public static ClipConfig OpenClipMicro { get; } = new()
    {
        ImageChannels = 3, ImageSize = 32, PatchSize = 8, VisionWidth = 32, VisionLayers = 2, VisionHeads = 2,
        VocabSize = 256, ContextLength = 16, TextWidth = 32, TextLayers = 2, TextHeads = 2, EmbedDim = 24,
    };

    /// <summary>ViT-B-32 with QuickGELU (OpenCLIP's ViT-B-32-quickgelu): for OpenAI's weights (pretrained='openai').</summary>
    public static ClipConfig VitB32QuickGelu { get; } = VitB32 with { QuickGelu = true };

    /// <summary>ViT-B-16 with QuickGELU (OpenCLIP's ViT-B-16-quickgelu).</summary>
    public static ClipConfig VitB16QuickGelu { get; } = VitB16 with { QuickGelu = true };

    public static IReadOnlyDictionary<string, ClipConfig> Presets { get; } = new Dictionary<string, ClipConfig>
    {
        ["clip-tiny"] = Tiny,
        ["clip-mini"] = Mini,
        ["clip-micro"] = Micro,
        ["ViT-B-32"] = VitB32,
        ["ViT-B-16"] = VitB16,
        ["ViT-B-32-quickgelu"] = VitB32QuickGelu,
        ["ViT-B-16-quickgelu"] = VitB16QuickGelu,
        ["openclip-micro"] = OpenClipMicro,
    };

    public int PatchesPerSide => ImageSize / PatchSize;

    /// <summary>Tokens in the image sequence: one per patch plus the class token.</summary>
    public int VisionSequenceLength => (PatchesPerSide * PatchesPerSide) + 1;

    /// <summary>The end-of-text id used for pooling: the largest id of the vocabulary (GPT-2's &lt;|endoftext|&gt; for 50,257).</summary>
    public long EndOfText => VocabSize - 1;

    public static ClipConfig FromPreset(string name) =>
        Presets.TryGetValue(name, out var config)
            ? config
            : throw new ArgumentException($"Unknown model preset '{name}'; known: {string.Join(", ", Presets.Keys)}.", nameof(name));

    /// <summary>Throws naming the first inconsistent field.</summary>
    public ClipConfig Validate()
    {
        Require(ImageSize % PatchSize == 0, $"ImageSize {ImageSize} is not a multiple of PatchSize {PatchSize}");
        Require(VisionWidth % VisionHeads == 0, $"VisionWidth {VisionWidth} is not a multiple of VisionHeads {VisionHeads}");
        Require(TextWidth % TextHeads == 0, $"TextWidth {TextWidth} is not a multiple of TextHeads {TextHeads}");
        Require(ImageChannels is 1 or 3, $"ImageChannels must be 1 or 3, got {ImageChannels}");
        Require(ContextLength >= 2, $"ContextLength must be at least 2, got {ContextLength}");
        Require(VisionLayers >= 1 && TextLayers >= 1, "each tower needs at least one layer");
        Require(VocabSize >= 2 && EmbedDim >= 1 && MlpRatio >= 1, "VocabSize, EmbedDim and MlpRatio must be positive");
        Require(TextTokenizers.Names.Contains(Tokenizer), $"Tokenizer '{Tokenizer}' is not one of {string.Join(", ", TextTokenizers.Names)}");
        // The text tower pools at the largest id, which must be the tokenizer's end of text (CLIP's 49407).
        Require(Tokenizer != TextTokenizers.ClipBpe || VocabSize == ClipTokenizer.VocabSize,
            $"the clip-bpe tokenizer needs VocabSize {ClipTokenizer.VocabSize}, got {VocabSize}");
        return this;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Invalid ClipConfig: {message}.");
        }
    }
}
