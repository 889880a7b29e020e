namespace MmCluster.Shared.Text;

/// <summary>
/// The names of the text tokenizers a model may use, as a run spec (<c>model.overrides.tokenizer</c>), a checkpoint's
/// config and <c>mmcluster tokenize --tokenizer</c> write them: <see cref="Gpt2"/> (GPT-2's byte-level BPE, 50,257 ids,
/// the small presets') and <see cref="ClipBpe"/> (CLIP's BPE, 49,408 ids, OpenCLIP's ViT-B presets').
/// </summary>
public static class TextTokenizers
{
    public const string Gpt2 = "gpt2";
    public const string ClipBpe = "clip-bpe";

    /// <summary>GPT-2's vocabulary: 50,256 BPE ids and &lt;|endoftext|&gt;.</summary>
    public const int Gpt2VocabSize = 50257;

    public static IReadOnlyList<string> Names { get; } = [ClipBpe, Gpt2];

    /// <summary>The size of the vocabulary of tokenizer <paramref name="name"/>; the end-of-text id is the largest.</summary>
    public static int VocabSize(string name) => name switch
    {
        Gpt2 => Gpt2VocabSize,
        ClipBpe => ClipTokenizer.VocabSize,
        _ => throw Unknown(name),
    };

    public static ArgumentException Unknown(string name) =>
        new($"unknown tokenizer '{name}'; known: {string.Join(", ", Names)}");
}
