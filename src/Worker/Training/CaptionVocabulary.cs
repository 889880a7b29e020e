namespace MmCluster.Worker.Training;

/// <summary>
/// A compact vocabulary over GPT-2 ids: the distinct ids of a caption corpus in ascending order, with
/// &lt;|endoftext|&gt; last, so the end-of-text keeps its convention of being the largest id (VocabSize - 1). A small
/// language model or Q-Former over a manifest with a few hundred distinct tokens then needs a few hundred output rows
/// instead of 50,257. Padding (GPT-2 id 0) maps to 0. Record <see cref="Ids"/> in each stage's checkpoint.
/// </summary>
public sealed class CaptionVocabulary
{
    private readonly Dictionary<long, long> toCompact;

    public CaptionVocabulary(IEnumerable<long> gpt2Ids)
    {
        Ids = [.. gpt2Ids.Where(id => id != CaptionTokenizer.EndOfText).Append(CaptionTokenizer.Pad).Distinct().Order().Append(CaptionTokenizer.EndOfText)];
        toCompact = Ids.Select((id, i) => (id, (long)i)).ToDictionary(p => p.id, p => p.Item2);
    }

    /// <summary>GPT-2 id of each compact id.</summary>
    public long[] Ids { get; }

    public int Count => Ids.Length;

    /// <summary>Whether GPT-2 id <paramref name="gpt2"/> is in the vocabulary.</summary>
    public bool Contains(long gpt2) => toCompact.ContainsKey(gpt2);

    public long EndOfText => Count - 1;

    /// <summary>GPT-2 ids -> compact ids, in a new array; throws naming the first id the vocabulary lacks.</summary>
    public long[] ToCompact(ReadOnlySpan<long> gpt2)
    {
        var compact = new long[gpt2.Length];
        for (var i = 0; i < gpt2.Length; i++)
        {
            compact[i] = toCompact.TryGetValue(gpt2[i], out var c)
                ? c
                : throw new ArgumentException($"GPT-2 id {gpt2[i]} at position {i} is not in the caption vocabulary of {Count} ids");
        }
        return compact;
    }

    public long[] ToGpt2(ReadOnlySpan<long> compact)
    {
        var ids = new long[compact.Length];
        for (var i = 0; i < compact.Length; i++)
        {
            ids[i] = Ids[compact[i]];
        }
        return ids;
    }

    /// <summary>The batch with its caption rows (and conversation targets; -100 stays) in compact ids.</summary>
    public ClipBatch Compact(ClipBatch batch) => batch with
    {
        Tokens = ToCompact(batch.Tokens),
        Targets = batch.Targets is null ? null : [.. batch.Targets.Select(id => id < 0 ? id : toCompact[id])],
        Instructions = batch.Instructions is null ? null : ToCompact(batch.Instructions),
    };
}
