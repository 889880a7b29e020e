using MmCluster.Collectives.Ring;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>The received chunks' buffer pool: power-of-two arrays reused, foreign arrays refused, empty for zero bytes.</summary>
public sealed class ChunkBuffersSpecs
{
    [Fact]
    public void Should_hand_back_a_returned_array_of_the_same_size_class_when_renting_again()
    {
        var pool = new ChunkBuffers();
        var first = pool.Rent((1 << 20) + 1);
        Assert.Equal(1 << 21, first.Length);
        pool.Return(first);

        Assert.Same(first, pool.Rent(1 << 21));
        Assert.NotSame(first, pool.Rent(1 << 21)); // taken: a new one
    }

    [Fact]
    public void Should_not_keep_arrays_that_are_not_its_own_size_classes_or_beyond_what_it_may_retain()
    {
        var pool = new ChunkBuffers(retainedBytes: 1 << 20);
        var foreign = new byte[3_000_000];
        pool.Return(foreign); // not a power of two: dropped
        Assert.Empty(pool.Rent(0));
        Assert.NotSame(foreign, pool.Rent(3_000_000));
        Assert.Equal(1 << 22, pool.Rent(3_000_000).Length);

        var big = pool.Rent(1 << 21);
        pool.Return(big); // over the 1 MiB it may keep: dropped
        Assert.NotSame(big, pool.Rent(1 << 21));
    }
}
