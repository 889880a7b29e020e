namespace MmCluster.Worker.Training;

/// <summary>
/// Texts into the fixed-length id rows a CLIP text tower reads: each row ends at its end-of-text id, the largest id of
/// the vocabulary (where the tower pools), then zeros. GPT-2's BPE (<see cref="CaptionTokenizer"/>) for the small presets,
/// CLIP's (<see cref="ClipBpeRowTokenizer"/>) for OpenCLIP's; <see cref="TextRowTokenizers.For"/> picks a model's.
/// </summary>
public interface ITextRowTokenizer
{
    /// <summary>The tokenizer's name (<see cref="Shared.Text.TextTokenizers"/>).</summary>
    string Name { get; }

    /// <summary>Ids per row.</summary>
    int ContextLength { get; }

    /// <summary>Writes one text's <see cref="ContextLength"/> ids into <paramref name="destination"/>.</summary>
    void Encode(string text, Span<long> destination);

    /// <summary>(N, ContextLength) ids, row-major.</summary>
    long[] EncodeBatch(IReadOnlyList<string> texts)
    {
        var ids = new long[(long)texts.Count * ContextLength];
        for (var i = 0; i < texts.Count; i++)
        {
            Encode(texts[i], ids.AsSpan(i * ContextLength, ContextLength));
        }
        return ids;
    }
}
