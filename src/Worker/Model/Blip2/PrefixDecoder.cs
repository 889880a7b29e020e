using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// The language model's side of <see cref="CaptionGenerator"/>: rows of (prefix, BOS, tokens so far) fed one token per
/// row per step, returning the next token's logits. With the key-value cache the prefix and BOS run once and each later
/// step runs one position per row against the cached keys and values; without it every step re-runs the whole sequence
/// (the reference the cache is checked against). Beam search reorders the rows by their parents.
/// </summary>
internal sealed class PrefixDecoder : IDisposable
{
    private readonly Blip2Stage2Model model;
    private readonly KeyValueCache? cache;
    private Tensor prefix;
    private Tensor? inputs;
    private long position;

    /// <param name="prefix">(B, Q, W) projected queries, one row per hypothesis (kept alive by the caller's scope).</param>
    /// <param name="maxInputs">Tokens each row will be fed at most (BOS included).</param>
    public PrefixDecoder(Blip2Stage2Model model, Tensor prefix, int maxInputs, bool useCache)
    {
        this.model = model;
        this.prefix = prefix;
        cache = useCache ? model.LanguageModel.NewCache(prefix.shape[1] + maxInputs) : null;
    }

    /// <summary>(B, 1) next input of every row -> (B, V) logits of the token after it.</summary>
    public Tensor Next(Tensor column)
    {
        using var hidden = Hidden(column);
        using var last = hidden.select(1, hidden.shape[1] - 1);
        position++;
        return model.LanguageModel.Logits(last);
    }

    /// <summary>Row i continues row <paramref name="parents"/>[i] (a beam's surviving hypotheses).</summary>
    public void Reorder(long[] parents)
    {
        using var rows = tensor(parents, device: prefix.device);
        if (cache is not null)
        {
            cache.Reorder(rows);
            return;
        }
        prefix = prefix.index_select(0, rows);
        inputs = inputs?.index_select(0, rows);
    }

    public void Dispose() => cache?.Dispose();

    private Tensor Hidden(Tensor column)
    {
        if (cache is not null)
        {
            return position == 0 ? model.Decode(prefix, column, cache) : model.DecodeNext(column, cache, position);
        }
        inputs = inputs is null ? column.alias() : cat([inputs, column], 1);        // (B, position + 1)
        return model.Decode(prefix, inputs);
    }
}
