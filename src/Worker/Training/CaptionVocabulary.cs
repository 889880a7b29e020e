namespace MmCluster.Worker.Training;

/// <summary>
/// A compact vocabulary over GPT-2 ids: the distinct ids of a caption corpus in ascending order, with
/// &lt;|endoftext|&gt; last, so the end-of-text keeps its convention of being the largest id (VocabSize - 1). A small
/// language model or Q-Former over a manifest with a few hundred distinct tokens then needs a few hundred output rows
/// instead of 50,257. Padding (GPT-2 id 0) maps to 0. Record <see cref="Ids"/> in each stage's checkpoint.
/// A vocabulary built from the training texts only holds <see cref="UnknownGpt2"/> too (just before the end-of-text):
/// any GPT-2 id it lacks then reads as that one <see cref="Unknown"/> row instead of being refused.
/// </summary>
public sealed class CaptionVocabulary
{
    private readonly Dictionary<long, long> toCompact;

    /// <summary>The unknown token's id in <see cref="Ids"/>: one past GPT-2's last id (GPT-2 itself has no unknown token).</summary>
    public const long UnknownGpt2 = CaptionTokenizer.EndOfText + 1;

    public CaptionVocabulary(IEnumerable<long> gpt2Ids)
    {
        var ids = gpt2Ids.ToList();
        var unknown = ids.Contains(UnknownGpt2);
        Ids = [.. ids.Where(id => id is not CaptionTokenizer.EndOfText and not UnknownGpt2).Append(CaptionTokenizer.Pad).Distinct().Order()];
        Ids = unknown ? [.. Ids, UnknownGpt2, CaptionTokenizer.EndOfText] : [.. Ids, CaptionTokenizer.EndOfText];
        toCompact = Ids.Select((id, i) => (id, (long)i)).ToDictionary(p => p.id, p => p.Item2);
        Unknown = unknown ? Count - 2 : null;
    }

    /// <summary>The compact id every word outside the vocabulary reads as, or null when it has none (those words are refused).</summary>
    public long? Unknown { get; }

    /// <summary>GPT-2 id of each compact id.</summary>
    public long[] Ids { get; }

    public int Count => Ids.Length;

    /// <summary>Whether GPT-2 id <paramref name="gpt2"/> is in the vocabulary.</summary>
    public bool Contains(long gpt2) => toCompact.ContainsKey(gpt2);

    public long EndOfText => Count - 1;

    /// <summary>GPT-2 ids -> compact ids, in a new array: an id the vocabulary lacks reads as <see cref="Unknown"/>, or throws naming it when there is none.</summary>
    public long[] ToCompact(ReadOnlySpan<long> gpt2)
    {
        var compact = new long[gpt2.Length];
        for (var i = 0; i < gpt2.Length; i++)
        {
            compact[i] = CompactOf(gpt2[i], i);
        }
        return compact;
    }

    private long CompactOf(long gpt2, int position) =>
        toCompact.TryGetValue(gpt2, out var c) ? c
            : Unknown ?? throw new ArgumentException($"GPT-2 id {gpt2} at position {position} is not in the caption vocabulary of {Count} ids");

    /// <summary>Compact ids -> GPT-2 ids; the unknown token has no text, so it is left out (it is never a training target).</summary>
    public long[] ToGpt2(ReadOnlySpan<long> compact)
    {
        var ids = new List<long>(compact.Length);
        foreach (var id in compact)
        {
            if (id != Unknown)
            {
                ids.Add(Ids[id]);
            }
        }
        return [.. ids];
    }

    /// <summary>The batch with its caption rows (and conversation targets; -100 stays) in compact ids.</summary>
    public ClipBatch Compact(ClipBatch batch) => batch with
    {
        Tokens = ToCompact(batch.Tokens),
        Targets = batch.Targets is null ? null : [.. batch.Targets.Select((id, i) => id < 0 ? id : CompactOf(id, i))],
        Instructions = batch.Instructions is null ? null : ToCompact(batch.Instructions),
    };
}
