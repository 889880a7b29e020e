using MmCluster.Shared.Manifest;

namespace MmCluster.Worker.Training;

/// <summary>
/// Token noise on the questions of training conversations: each question token is replaced, with probability
/// <see cref="Probability"/>, by <see cref="Replacement"/> (the vocabulary's unknown token: word dropout) or, without
/// one, by a question token drawn from the whole batch (so only words the training questions use).
/// A small language model that reads a question through only its own training phrasings then learns to answer from the
/// words it knows when some words are unfamiliar, which is what a question in a new phrasing is to it. Answers, the
/// template's words and the loss mask are untouched. The draws are a function of the batch's row keys, so a batch
/// rebuilt after a recovery is the same batch.
/// </summary>
public sealed class QuestionNoise
{
    /// <param name="replacement">The GPT-2 id every replaced token becomes; null: a question word of the batch.</param>
    public QuestionNoise(double probability, long? replacement = null)
    {
        Replacement = replacement;
        if (!(probability is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "question noise must be in [0, 1)");
        }
        Probability = probability;
    }

    public double Probability { get; }

    /// <summary>The id a replaced token becomes, or null for a question word drawn from the batch.</summary>
    public long? Replacement { get; }

    /// <summary>The rows with noisy questions (new input arrays; rows without question positions come back as they were).</summary>
    public ConversationTokens[] Apply(IReadOnlyList<ConversationTokens> rows, IReadOnlyList<string> keys)
    {
        if (Probability == 0 || !rows.Any(r => r.QuestionPositions.Any()))
        {
            return [.. rows];
        }
        // The batch's question words, which a replaced token is drawn from; not needed with a fixed replacement.
        long[] pool = Replacement is null ? [.. rows.SelectMany(r => r.QuestionPositions.Select(t => r.Inputs[t]))] : [];
        var random = new SplitMix64(Seed(keys));
        var threshold = (ulong)(Probability * ulong.MaxValue);
        var noisy = new ConversationTokens[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var inputs = (long[])row.Inputs.Clone();
            foreach (var t in row.QuestionPositions)
            {
                if (random.Next() < threshold)
                {
                    inputs[t] = Replacement ?? pool[random.NextInt(pool.Length)];
                }
            }
            noisy[i] = row with { Inputs = inputs };
        }
        return noisy;
    }

    /// <summary>
    /// Instruction rows (each <paramref name="context"/> ids: a question's tokens, its end-of-text, padding; what the
    /// Q-Former of instructblip reads) with each question token replaced by <see cref="Replacement"/> with the same
    /// probability, from a draw stream of their own. Only with a replacement (the unknown token): without one the rows
    /// come back as they are, as before this existed.
    /// </summary>
    public long[] ApplyToInstructions(long[] rows, int context, IReadOnlyList<string> keys)
    {
        if (Replacement is not { } replacement || Probability == 0)
        {
            return rows;
        }
        var random = new SplitMix64(Seed(keys) ^ InstructionStream);
        var threshold = (ulong)(Probability * ulong.MaxValue);
        var noisy = (long[])rows.Clone();
        for (var start = 0; start + context <= rows.Length; start += context)
        {
            for (var t = start; t < start + context && rows[t] != CaptionTokenizer.EndOfText; t++)
            {
                if (random.Next() < threshold)
                {
                    noisy[t] = replacement;
                }
            }
        }
        return noisy;
    }

    /// <summary>Set apart the draws of instruction rows from those of the conversations (any odd constant).</summary>
    private const ulong InstructionStream = 0x9E3779B97F4A7C15;

    /// <summary>FNV-1a over the keys in batch order, each followed by U+00FF as a separator.</summary>
    private static ulong Seed(IReadOnlyList<string> keys) =>
        keys.Aggregate(SplitMix64.FnvOffsetBasis, (hash, key) => SplitMix64.Fnv1a("\u00FF", SplitMix64.Fnv1a(key, hash)));
}
