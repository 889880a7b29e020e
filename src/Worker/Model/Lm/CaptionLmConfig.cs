namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// Hyperparameters of <see cref="CaptionLm"/>, the small GPT-style decoder that stands in for BLIP-2's frozen LLM (OPT in
/// blip2_opt.py). Ids are GPT-2 BPE ids (<see cref="Training.CaptionTokenizer"/>); &lt;|endoftext|&gt; doubles as BOS.
/// </summary>
public sealed record CaptionLmConfig
{
    public int VocabSize { get; init; } = 50257;

    /// <summary>Caption positions with a learned position embedding (a prepended prefix gets none).</summary>
    public int ContextLength { get; init; } = 32;

    public int Width { get; init; } = 128;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int MlpRatio { get; init; } = 4;

    /// <summary>The Fashion-MNIST stand-in LLM: 2 layers, width 128, context 32 (6.8M parameters, 6.4M of them the tied embedding).</summary>
    public static CaptionLmConfig Tiny { get; } = new();

    /// <summary>
    /// lm-tiny with 96 text positions: room for a conversation of three exchanges and a description (the instruction
    /// recipes' language model; batches are cut to their longest row, so unused positions cost nothing).
    /// </summary>
    public static CaptionLmConfig Chat { get; } = new() { ContextLength = 96 };

    /// <summary>For unit tests only.</summary>
    public static CaptionLmConfig Micro { get; } = new() { VocabSize = 64, ContextLength = 8, Width = 16, Layers = 1, Heads = 2 };

    public static IReadOnlyDictionary<string, CaptionLmConfig> Presets { get; } = new Dictionary<string, CaptionLmConfig>
    {
        ["lm-tiny"] = Tiny,
        ["lm-chat"] = Chat,
        ["lm-micro"] = Micro,
    };

    /// <summary>GPT-2's convention: &lt;|endoftext|&gt; (the vocabulary's last id) starts and ends a text.</summary>
    public long EndOfText => VocabSize - 1;

    public static CaptionLmConfig FromPreset(string name) =>
        Presets.TryGetValue(name, out var config)
            ? config
            : throw new ArgumentException($"Unknown language-model preset '{name}'; known: {string.Join(", ", Presets.Keys)}.", nameof(name));

    /// <summary>Throws naming the first inconsistent field.</summary>
    public CaptionLmConfig Validate()
    {
        if (Width % Heads != 0)
        {
            throw new ArgumentException($"Invalid CaptionLmConfig: Width {Width} is not a multiple of Heads {Heads}.");
        }
        if (VocabSize < 2 || ContextLength < 2 || Layers < 1 || MlpRatio < 1)
        {
            throw new ArgumentException($"Invalid CaptionLmConfig: VocabSize {VocabSize}, ContextLength {ContextLength}, Layers {Layers}, MlpRatio {MlpRatio} must be positive (vocabulary and context at least 2).");
        }
        return this;
    }
}
