using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The buffers received chunks are read into, shared by every lane of the process. <see cref="ArrayPool{T}.Shared"/> keeps
/// only a handful of 1 MiB arrays per core, but a burst (both ranks sending a whole block at once, as an all-gather
/// does) leaves dozens of chunks waiting in the inbox: the pool let them go and every burst allocated fresh large-object
/// arrays (page faults, then gen-2 collections). This pool keeps up to 256 MB (by default) of power-of-two arrays.
/// </summary>
internal sealed class ChunkBuffers(long retainedBytes = ChunkBuffers.DefaultRetainedBytes)
{
    public const long DefaultRetainedBytes = 256L << 20;

    private readonly ConcurrentStack<byte[]>[] _free = Enumerable.Range(0, 31).Select(_ => new ConcurrentStack<byte[]>()).ToArray();
    private long _retained;

    /// <summary>The pool every lane of the process uses.</summary>
    public static ChunkBuffers Shared { get; } = new();

    /// <summary>An array of at least <paramref name="length"/> bytes (empty for 0); give it back with <see cref="Return"/>.</summary>
    public byte[] Rent(int length)
    {
        if (length == 0)
        {
            return [];
        }
        var bucket = Bucket(length);
        if (_free[bucket].TryPop(out var array))
        {
            Interlocked.Add(ref _retained, -array.Length);
            return array;
        }
        return GC.AllocateUninitializedArray<byte>(1 << bucket);
    }

    public void Return(byte[] array)
    {
        if (array.Length == 0 || !BitOperations.IsPow2(array.Length))
        {
            return; // not one of this pool's size classes
        }
        if (Interlocked.Add(ref _retained, array.Length) > retainedBytes)
        {
            Interlocked.Add(ref _retained, -array.Length); // full: let the GC have it
            return;
        }
        _free[Bucket(array.Length)].Push(array);
    }

    private static int Bucket(int length)
    {
        return BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)Math.Max(length, 4096)));
    }
}
