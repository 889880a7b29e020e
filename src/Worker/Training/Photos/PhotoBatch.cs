namespace MmCluster.Worker.Training.Photos;

/// <summary>
/// One batch from <see cref="PhotoBatchLoader"/>: <see cref="Count"/> images as (Count, 3, S, S) floats at the start of
/// <see cref="Pixels"/>, in the order the samples were given. The buffer is the loader's and is reused once this batch is
/// disposed: copy or hand it to a tensor before then.
/// </summary>
public sealed class PhotoBatch : IDisposable
{
    private readonly Action<PhotoBatch> release;
    private int released;

    internal PhotoBatch(int index, int firstSample, int count, float[] pixels, int size, Action<PhotoBatch> release)
    {
        (Index, FirstSample, Count, Buffer, Size) = (index, firstSample, count, pixels, size);
        this.release = release;
    }

    public int Index { get; }

    /// <summary>Position of this batch's first sample in the loader's sample list.</summary>
    public int FirstSample { get; }

    public int Count { get; }

    public int Size { get; }

    /// <summary>The pixels of this batch's images: Count·3·S·S floats.</summary>
    public Memory<float> Pixels => Buffer.AsMemory(0, Count * 3 * Size * Size);

    /// <summary>(Count, 3, S, S).</summary>
    public long[] Shape => [Count, 3, Size, Size];

    /// <summary>The whole pinned buffer (at least <see cref="Pixels"/>), for a tensor made over it without a copy.</summary>
    internal float[] Buffer { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref released, 1) == 0)
        {
            release(this);
        }
    }
}
