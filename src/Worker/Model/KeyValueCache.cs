using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model;

/// <summary>
/// The keys and values of a causal <see cref="Transformer"/>'s self-attention for the positions run so far, so
/// generation runs each new token alone instead of the whole prefix again (the <c>past_key_values</c> of Hugging Face's
/// GPT-2 and OPT, which blip2_opt.py's generate() uses). Per layer one (B, heads, capacity, head size) buffer allocated
/// on the first pass; a pass of t positions writes them at [<see cref="Length"/>, Length + t) and attends to
/// [0, Length + t). The buffers belong to this object, not to a dispose scope: dispose it.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    private readonly Tensor?[] keys;
    private readonly Tensor?[] values;
    private long pending;
    private bool disposed;

    /// <param name="layers">The transformer's blocks.</param>
    /// <param name="capacity">Positions the cache can hold (prefix plus generated tokens).</param>
    public KeyValueCache(int layers, long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
        Capacity = capacity;
    }

    public long Capacity { get; }

    /// <summary>Positions cached by completed passes.</summary>
    public long Length { get; private set; }

    /// <summary>Rows (batch) of the cache, 0 before the first pass.</summary>
    public long Rows => keys[0]?.shape[0] ?? 0;

    /// <summary>
    /// Layer <paramref name="layer"/>'s (B, nh, t, hs) keys and values of the current pass, written at
    /// [<see cref="Length"/>, Length + t); returns views of every cached position [0, Length + t) (dispose them).
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var t = k.shape[2];
        if (Length + t > Capacity)
        {
            throw new InvalidOperationException($"the key-value cache holds {Capacity} positions; {Length} cached and {t} more do not fit");
        }
        if (keys[layer] is null)
        {
            keys[layer] = Buffer(k);
            values[layer] = Buffer(v);
        }
        else if (keys[layer]!.shape[0] != k.shape[0])
        {
            throw new ArgumentException($"the key-value cache has {keys[layer]!.shape[0]} rows, the pass {k.shape[0]}", nameof(k));
        }
        using (var slot = keys[layer]!.narrow(2, Length, t))
        {
            slot.copy_(k);
        }
        using (var slot = values[layer]!.narrow(2, Length, t))
        {
            slot.copy_(v);
        }
        pending = t;
        return (keys[layer]!.narrow(2, 0, Length + t), values[layer]!.narrow(2, 0, Length + t));
    }

    /// <summary>Ends a pass through every layer: its positions become cached.</summary>
    public void Advance()
    {
        Length += pending;
        pending = 0;
    }

    /// <summary>
    /// Keeps the rows <paramref name="rows"/> (int64 indices of the current rows, repeats allowed), in that order: beam
    /// search's surviving hypotheses taking their parents' keys and values.
    /// </summary>
    public void Reorder(Tensor rows)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        for (var layer = 0; layer < keys.Length; layer++)
        {
            keys[layer] = Select(keys[layer], rows);
            values[layer] = Select(values[layer], rows);
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        for (var layer = 0; layer < keys.Length; layer++)
        {
            keys[layer]?.Dispose();
            values[layer]?.Dispose();
            keys[layer] = values[layer] = null;
        }
    }

    private Tensor Buffer(Tensor like)
    {
        var buffer = zeros([like.shape[0], like.shape[1], Capacity, like.shape[3]], like.dtype, like.device);
        return buffer.DetachFromDisposeScope();
    }

    private static Tensor? Select(Tensor? buffer, Tensor rows)
    {
        if (buffer is null)
        {
            return null;
        }
        var selected = buffer.index_select(0, rows).DetachFromDisposeScope();
        buffer.Dispose();
        return selected;
    }
}
