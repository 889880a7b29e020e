using System.Collections.Concurrent;
using MmCluster.Worker.Training.Photos;
using Xunit;

namespace MmCluster.Worker.Tests.Training.Photos;

public sealed class DecodePoolSpecs
{
    [Fact]
    public void Should_run_every_item_once_on_the_pool_threads_when_a_batch_is_run()
    {
        using var pool = new DecodePool(3);
        var calls = new ConcurrentBag<(int Item, string? Thread)>();
        using var together = new Barrier(3);

        // Each of the first three items waits for the other two: the run finishes only if three threads take them at once.
        pool.Run(20, i =>
        {
            if (i < 3)
            {
                Assert.True(together.SignalAndWait(TimeSpan.FromSeconds(10)), "three items did not run at once");
            }
            calls.Add((i, Thread.CurrentThread.Name));
        });

        Assert.Equal(Enumerable.Range(0, 20), calls.Select(c => c.Item).Order());
        Assert.All(calls, c => Assert.StartsWith("feed-decode-", c.Thread));
        Assert.Equal(3, calls.Select(c => c.Thread).Distinct().Count());
    }

    [Fact]
    public void Should_rethrow_the_error_after_every_item_ran_and_stay_usable_when_an_item_throws()
    {
        using var pool = new DecodePool(2);
        var ran = new ConcurrentBag<int>();

        var error = Assert.Throws<InvalidDataException>(() => pool.Run(6, i =>
        {
            ran.Add(i);
            if (i == 2)
            {
                throw new InvalidDataException("Image of row 'row-0002' refused");
            }
        }));
        var again = new ConcurrentBag<int>();
        pool.Run(4, again.Add);

        Assert.Equal("Image of row 'row-0002' refused", error.Message);
        Assert.Equal(Enumerable.Range(0, 6), ran.Order());
        Assert.Equal(Enumerable.Range(0, 4), again.Order());
    }
}
