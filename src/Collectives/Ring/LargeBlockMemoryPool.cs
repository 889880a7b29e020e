using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The collective server's Kestrel memory pool: pinned blocks of <see cref="BlockBytes"/> instead of Kestrel's 4 KiB, so a
/// 1 MiB chunk crosses Kestrel's pipes in a few segments rather than 256 (every segment is a lock round between the HTTP/2
/// frame writer and the socket sender, and an entry in the send's iovec). Blocks are kept for reuse; the memory in flight
/// is bounded by the HTTP/2 windows.
/// </summary>
internal sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockBytes = 256 << 10;

    private readonly ConcurrentStack<Block> _free = new();

    public override int MaxBufferSize => BlockBytes;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockBytes);
        return _free.TryPop(out var block) ? block : new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
        _free.Clear();
    }

    /// <summary>Hands Kestrel this pool (registered as the server's <see cref="IMemoryPoolFactory{T}"/>).</summary>
    public sealed class Factory : IMemoryPoolFactory<byte>
    {
        public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
        {
            return new LargeBlockMemoryPool();
        }
    }

    private sealed class Block(LargeBlockMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockBytes, pinned: true);

        public Memory<byte> Memory => MemoryMarshal.CreateFromPinnedArray(_array, 0, _array.Length);

        public void Dispose()
        {
            pool._free.Push(this);
        }
    }
}
