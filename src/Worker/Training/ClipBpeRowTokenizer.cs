using MmCluster.Shared.Manifest;
using MmCluster.Shared.Text;

namespace MmCluster.Worker.Training;

/// <summary>
/// CLIP's BPE rows as OpenCLIP's <c>tokenize()</c> writes them: &lt;start_of_text&gt; (49406), the ids, &lt;end_of_text&gt;
/// (49407, the largest id, where the text tower pools), zeros; a longer text is cut with the end token in the last place.
/// The text is cut to <see cref="MaxCaptionChars"/> characters first, which bounds the BPE work per caption.
/// </summary>
public sealed class ClipBpeRowTokenizer : ITextRowTokenizer
{
    private readonly ClipTokenizer tokenizer;

    public ClipBpeRowTokenizer(int contextLength = ClipTokenizer.DefaultContextLength, int maxCaptionChars = ManifestReadLimits.DefaultMaxCaptionChars,
        ClipTokenizer? tokenizer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCaptionChars, 1);
        ContextLength = contextLength;
        MaxCaptionChars = maxCaptionChars;
        this.tokenizer = tokenizer ?? ClipTokenizer.Default;
    }

    public string Name => TextTokenizers.ClipBpe;

    public int ContextLength { get; }

    public int MaxCaptionChars { get; }

    public void Encode(string text, Span<long> destination)
    {
        if (destination.Length != ContextLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} ids, expected {ContextLength}", nameof(destination));
        }
        tokenizer.EncodeRow(ManifestReadLimits.Truncate(text, MaxCaptionChars), destination);
    }
}
