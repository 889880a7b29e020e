using System.Diagnostics;
using MmCluster.Collectives;
using MmCluster.Collectives.InProcess;
using Xunit;

namespace MmCluster.Collectives.Tests.InProcess;

public sealed class InProcessCollectiveGroupSpecs
{
    private static readonly TimeSpan ShortDeadline = TimeSpan.FromMilliseconds(300);

    public static TheoryData<int, int> WorldsAndSizes()
    {
        var data = new TheoryData<int, int>();
        foreach (var w in new[] { 2, 3, 4 })
        {
            foreach (var n in new[] { 0, 1, 7, 64 })
            {
                data.Add(w, n);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WorldsAndSizes))]
    public async Task Should_concatenate_in_rank_order_when_all_gathering(int world, int n)
    {
        var results = await RunRanks(world, async g =>
        {
            var output = new float[n * world];
            await g.AllGatherAsync(Data(g.Rank, n), output);
            return output;
        });

        var expected = Enumerable.Range(0, world).SelectMany(r => Data(r, n)).ToArray();
        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Theory]
    [MemberData(nameof(WorldsAndSizes))]
    public async Task Should_give_each_rank_the_sum_of_its_block_when_reduce_scattering(int world, int n)
    {
        var results = await RunRanks(world, async g =>
        {
            var output = new float[BlockPartition.Count(n, world, g.Rank)];
            await g.ReduceScatterAsync(Data(g.Rank, n), output);
            return output;
        });

        var sum = Sum(world, n);
        for (var r = 0; r < world; r++)
        {
            Assert.Equal(sum.Skip(BlockPartition.Offset(n, world, r)).Take(BlockPartition.Count(n, world, r)), results[r]);
        }
    }

    [Theory]
    [MemberData(nameof(WorldsAndSizes))]
    public async Task Should_leave_sum_and_mean_on_every_rank_when_all_reducing(int world, int n)
    {
        var results = await RunRanks(world, async g =>
        {
            var sum = Data(g.Rank, n);
            var mean = Data(g.Rank, n);
            await g.AllReduceAsync(sum, ReduceOp.Sum);
            await g.AllReduceAsync(mean, ReduceOp.Mean);
            return (sum, mean);
        });

        var expected = Sum(world, n);
        Assert.All(results, r => Assert.Equal(expected, r.sum));
        Assert.All(results, r => Assert.Equal(expected.Select(x => x / world), r.mean));
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 0)]
    public async Task Should_copy_root_buffer_everywhere_when_broadcasting(int world, int root)
    {
        var results = await RunRanks(world, async g =>
        {
            var buffer = Data(g.Rank, 5);
            await g.BroadcastAsync(buffer, root);
            return buffer;
        });

        Assert.All(results, r => Assert.Equal(Data(root, 5), r));
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(4, false)]
    [InlineData(3, false)]
    public async Task Should_receive_from_left_neighbour_when_exchanging_forward(int world, bool forward)
    {
        var results = await RunRanks(world, async g =>
        {
            var receive = new float[3];
            await g.NeighborExchangeAsync(Data(g.Rank, 3), receive, forward);
            return receive;
        });

        for (var r = 0; r < world; r++)
        {
            var from = forward ? (r - 1 + world) % world : (r + 1) % world;
            Assert.Equal(Data(from, 3), results[r]);
        }
    }

    [Fact]
    public async Task Should_keep_results_matching_when_many_mixed_calls_run_back_to_back()
    {
        const int world = 3;
        var results = await RunRanks(world, async g =>
        {
            var checksum = 0.0;
            for (var step = 0; step < 50; step++)
            {
                var buffer = Data(g.Rank + step, 10);
                await g.AllReduceAsync(buffer, ReduceOp.Sum);
                var gathered = new float[10 * world];
                await g.AllGatherAsync(buffer, gathered);
                await g.BarrierAsync();
                checksum += gathered.Sum();
            }

            return checksum;
        });

        Assert.All(results, c => Assert.Equal(results[0], c));
        var expected = Enumerable.Range(0, 50).Sum(step => world * Enumerable.Range(0, world).Sum(r => Data(r + step, 10).Sum()));
        Assert.Equal(expected, results[0], 3);
    }

    [Fact]
    public async Task Should_not_release_barrier_when_a_rank_has_not_arrived()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(10));
        var first = groups[0].BarrierAsync();
        await Task.Delay(50);
        Assert.False(first.IsCompleted);
        await groups[1].BarrierAsync();
        await first.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Should_fail_every_waiting_rank_naming_the_missing_peer_when_a_rank_never_joins()
    {
        var groups = InProcessCollectiveGroup.Create(3, ShortDeadline);
        var clock = Stopwatch.StartNew();
        var waiting = new[] { groups[0], groups[2] }.Select(g => g.AllReduceAsync(new float[4], ReduceOp.Sum)).ToArray();

        foreach (var task in waiting)
        {
            var error = await Assert.ThrowsAsync<CollectiveException>(() => task);
            Assert.Equal(1, error.PeerRank);
            Assert.Contains("rank(s) 1", error.Message);
        }

        Assert.InRange(clock.Elapsed, ShortDeadline * 0.9, TimeSpan.FromSeconds(5));
        var late = await Assert.ThrowsAsync<CollectiveException>(() => groups[1].AllReduceAsync(new float[4], ReduceOp.Sum));
        Assert.Equal(1, late.PeerRank);
    }

    [Fact]
    public async Task Should_fail_waiting_ranks_at_once_when_a_peer_leaves()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var waiting = groups[0].AllGatherAsync(new float[2], new float[4]);
        await groups[1].DisposeAsync();

        var error = await Assert.ThrowsAsync<CollectiveException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(1, error.PeerRank);
        Assert.Contains("rank 1 left", error.Message);
    }

    [Fact]
    public async Task Should_fail_every_rank_when_ranks_call_different_operations()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var a = groups[0].AllReduceAsync(new float[2], ReduceOp.Sum);
        var b = groups[1].BroadcastAsync(new float[2], 0);

        var errorA = await Assert.ThrowsAsync<CollectiveException>(() => a.WaitAsync(TimeSpan.FromSeconds(5)));
        var errorB = await Assert.ThrowsAsync<CollectiveException>(() => b.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(1, errorA.PeerRank);
        Assert.Same(errorA, errorB);
        Assert.Contains("rank 1 called Broadcast while rank 0 called AllReduce", errorA.Message);
    }

    [Fact]
    public async Task Should_fail_every_rank_when_ranks_give_different_lengths()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var a = groups[0].AllGatherAsync(new float[2], new float[4]);
        var b = groups[1].AllGatherAsync(new float[3], new float[6]);

        await Assert.ThrowsAsync<CollectiveException>(() => a.WaitAsync(TimeSpan.FromSeconds(5)));
        var error = await Assert.ThrowsAsync<CollectiveException>(() => b.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("rank 1 gave 3 floats", error.Message);
    }

    [Fact]
    public async Task Should_reject_output_of_wrong_length_when_called()
    {
        var group = InProcessCollectiveGroup.Create(2)[0];
        var error = await Assert.ThrowsAsync<ArgumentException>(() => group.AllGatherAsync(new float[3], new float[5]));
        Assert.Equal("output", error.ParamName);
    }

    [Fact]
    public async Task Should_behave_as_identity_when_world_size_is_one()
    {
        await using var group = InProcessCollectiveGroup.Single();
        var data = Data(0, 4);
        var gathered = new float[4];
        await group.AllGatherAsync(data, gathered);
        var scattered = new float[4];
        await group.ReduceScatterAsync(data, scattered);
        var mean = Data(0, 4);
        await group.AllReduceAsync(mean, ReduceOp.Mean);
        var received = new float[4];
        await group.NeighborExchangeAsync(data, received);
        await group.BarrierAsync();

        Assert.Equal(data, gathered);
        Assert.Equal(data, scattered);
        Assert.Equal(data, mean);
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task Should_refuse_calls_when_disposed()
    {
        var group = InProcessCollectiveGroup.Single();
        await group.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => group.BarrierAsync());
    }

    [Theory]
    [InlineData(2, ReduceOp.Sum)]
    [InlineData(3, ReduceOp.Mean)]
    public async Task Should_round_contributions_and_result_to_bf16_when_all_reducing_with_a_bf16_wire(int world, ReduceOp op)
    {
        var inputs = Enumerable.Range(0, world).Select(r => Enumerable.Range(0, 33).Select(i => (r + 1) * 1.001f + i * 0.37f).ToArray()).ToArray();
        var results = await RunRanks(world, async g =>
        {
            var buffer = inputs[g.Rank].ToArray();
            await g.AllReduceAsync(buffer, op, WirePrecision.BFloat16);
            return buffer;
        });

        var expected = new float[33];
        for (var i = 0; i < expected.Length; i++)
        {
            var sum = 0f;
            for (var r = 0; r < world; r++)
            {
                sum += BFloat16Bits.Round(inputs[r][i]);
            }

            expected[i] = BFloat16Bits.Round(op == ReduceOp.Mean ? sum / world : sum);
        }

        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public async Task Should_round_every_block_to_bf16_when_all_gathering_with_a_bf16_wire()
    {
        var results = await RunRanks(2, async g =>
        {
            var output = new float[2 * 5];
            await g.AllGatherAsync(Data(g.Rank, 5).Select(x => x * 1.01f).ToArray(), output, WirePrecision.BFloat16);
            return output;
        });

        var expected = Enumerable.Range(0, 2).SelectMany(r => Data(r, 5)).Select(x => BFloat16Bits.Round(x * 1.01f)).ToArray();
        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public async Task Should_fail_naming_the_rank_when_ranks_choose_different_wire_precisions()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(10));
        var calls = groups.Select(g => Task.Run(() => g.AllReduceAsync(new float[4], ReduceOp.Sum, g.Rank == 0 ? WirePrecision.Float32 : WirePrecision.BFloat16))).ToArray();
        var error = await Assert.ThrowsAsync<CollectiveException>(() => calls[0]);
        Assert.Equal(1, error.PeerRank);
        await Assert.ThrowsAsync<CollectiveException>(() => calls[1]);
    }

    private static float[] Data(int rank, int n) => Enumerable.Range(0, n).Select(i => rank * 100f + i + 0.5f).ToArray();

    private static float[] Sum(int world, int n) =>
        Enumerable.Range(0, n).Select(i => Enumerable.Range(0, world).Sum(r => Data(r, n)[i])).ToArray();

    private static async Task<T[]> RunRanks<T>(int world, Func<ICollectiveGroup, Task<T>> body)
    {
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(10));
        try
        {
            return await Task.WhenAll(groups.Select(g => Task.Run(() => body(g))));
        }
        finally
        {
            foreach (var g in groups)
            {
                await g.DisposeAsync();
            }
        }
    }
}
