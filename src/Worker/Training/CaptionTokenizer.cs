using Microsoft.ML.Tokenizers;
using MmCluster.Shared.Manifest;

namespace MmCluster.Worker.Training;

/// <summary>
/// GPT-2 byte-level BPE from Microsoft.ML.Tokenizers with its bundled data package (nothing downloaded at run time).
/// Captions become fixed-length rows: ids truncated to ContextLength-1, then &lt;|endoftext|&gt; (50256), then zeros, so
/// the EOT is each row's largest id (what the text tower's argmax pooling looks for), as OpenCLIP pads with 0.
/// A caption is cut to <see cref="MaxCaptionChars"/> characters before BPE sees it: byte-level BPE on one long word costs
/// more than linear time in its length, so the cut is what bounds the work per caption.
/// </summary>
public sealed class CaptionTokenizer : ITextRowTokenizer
{
    public const long EndOfText = 50256;
    public const long Pad = 0;

    private static readonly Lazy<Tokenizer> Gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    public CaptionTokenizer(int contextLength, int maxCaptionChars = ManifestReadLimits.DefaultMaxCaptionChars)
    {
        if (contextLength < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, "context length must be at least 2");
        }
        if (maxCaptionChars < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCaptionChars), maxCaptionChars, "the caption limit must be positive");
        }
        ContextLength = contextLength;
        MaxCaptionChars = maxCaptionChars;
    }

    public string Name => Shared.Text.TextTokenizers.Gpt2;

    public int ContextLength { get; }

    /// <summary>Characters of a caption the tokenizer reads; the rest is ignored.</summary>
    public int MaxCaptionChars { get; }

    /// <summary>Writes one caption's ContextLength ids into <paramref name="destination"/>.</summary>
    public void Encode(string caption, Span<long> destination)
    {
        if (destination.Length != ContextLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} ids, expected {ContextLength}", nameof(destination));
        }
        var ids = Gpt2.Value.EncodeToIds(ManifestReadLimits.Truncate(caption, MaxCaptionChars), ContextLength - 1, out _, out _);
        for (var i = 0; i < ids.Count; i++)
        {
            destination[i] = ids[i];
        }
        destination[ids.Count] = EndOfText;
        destination[(ids.Count + 1)..].Fill(Pad);
    }

    public long[] Encode(string caption)
    {
        var row = new long[ContextLength];
        Encode(caption, row);
        return row;
    }

    /// <summary>(N, ContextLength) ids, row-major.</summary>
    public long[] EncodeBatch(IReadOnlyList<string> captions)
    {
        var ids = new long[(long)captions.Count * ContextLength];
        for (var i = 0; i < captions.Count; i++)
        {
            Encode(captions[i], ids.AsSpan(i * ContextLength, ContextLength));
        }
        return ids;
    }

    /// <summary>GPT-2 BPE ids of a text, no end-of-text and no cut (the text's owner bounds its length).</summary>
    public static IReadOnlyList<int> EncodeText(string text) => Gpt2.Value.EncodeToIds(text);

    /// <summary>GPT-2 BPE ids of a text with each token's text (<c>mmcluster tokenize</c>), no end-of-text and no cut.</summary>
    public static IReadOnlyList<(int Id, string Token)> EncodeTokens(string text) =>
        [.. Gpt2.Value.EncodeToTokens(text, out _).Select(token => (token.Id, token.Value))];

    /// <summary>The text of GPT-2 ids (end-of-text ids skipped).</summary>
    public static string DecodeText(IEnumerable<long> ids) => Gpt2.Value.Decode(ids.Where(id => id != EndOfText).Select(id => (int)id));

    /// <summary>The text of one row, up to (not including) its EOT.</summary>
    public string Decode(ReadOnlySpan<long> row)
    {
        var end = row.IndexOf(EndOfText);
        var ids = (end < 0 ? row : row[..end]).ToArray().Select(id => (int)id);
        return Gpt2.Value.Decode(ids);
    }
}
