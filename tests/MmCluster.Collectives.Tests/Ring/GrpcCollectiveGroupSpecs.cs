using MmCluster.Collectives;
using MmCluster.Collectives.Ring;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>
/// Every operation of the gRPC ring, with W = 2, 3, 4 real servers on loopback, equals a naive one-process reference bit for
/// bit (the reference sums in the ring's documented order), for empty, one-element, uneven and multi-chunk buffers, with
/// payloads inline in the gRPC streams, in same-host shared-memory rings and on bulk TCP lanes (each spec checks the lanes used the one asked for).
/// </summary>
public sealed class GrpcCollectiveGroupSpecs
{
    // 0, 1, not divisible by 2, 3 or 4, and several chunks of the 64 KiB test chunk per block.
    private static readonly int[] Sizes = [0, 1, 7, 1_000_003];

    /// <summary>W = 2, 3, 4, each with payloads inline in the gRPC streams, in same-host rings and on bulk TCP lanes.</summary>
    public static TheoryData<int, CollectiveTransport> Rings()
    {
        var data = new TheoryData<int, CollectiveTransport>();
        foreach (var world in new[] { 2, 3, 4 })
        {
            data.Add(world, CollectiveTransport.Grpc);
            data.Add(world, CollectiveTransport.Auto);
            data.Add(world, CollectiveTransport.Tcp);
        }
        return data;
    }

    public static TheoryData<int, ReduceOp, CollectiveTransport> ReducingRings()
    {
        var data = new TheoryData<int, ReduceOp, CollectiveTransport>();
        foreach (var row in Rings())
        {
            data.Add((int)row[0], ReduceOp.Sum, (CollectiveTransport)row[1]);
            data.Add((int)row[0], ReduceOp.Mean, (CollectiveTransport)row[1]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Rings))]
    public async Task Should_equal_the_reference_when_all_gathering(int world, CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(world, transport: transport);
        foreach (var n in Sizes)
        {
            var inputs = Inputs(world, n);
            var outputs = Outputs(world, world * n);
            await ring.RunAsync(g => g.AllGatherAsync(inputs[g.Rank], outputs[g.Rank]));
            var expected = inputs.SelectMany(x => x).ToArray();
            AssertAllEqual(expected, outputs, $"all-gather W={world} n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(Rings))]
    public async Task Should_equal_the_reference_when_reduce_scattering(int world, CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(world, transport: transport);
        foreach (var n in Sizes)
        {
            var inputs = Inputs(world, n);
            var outputs = Enumerable.Range(0, world).Select(r => new float[BlockPartition.Count(n, world, r)]).ToArray();
            await ring.RunAsync(g => g.ReduceScatterAsync(inputs[g.Rank], outputs[g.Rank]));
            var sum = RingOrderSum(inputs);
            for (var r = 0; r < world; r++)
            {
                var block = sum.AsSpan(BlockPartition.Offset(n, world, r), BlockPartition.Count(n, world, r)).ToArray();
                AssertBitEqual(block, outputs[r], $"reduce-scatter W={world} n={n} rank {r}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ReducingRings))]
    public async Task Should_equal_the_reference_when_all_reducing(int world, ReduceOp reduce, CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(world, transport: transport);
        foreach (var n in Sizes)
        {
            var inputs = Inputs(world, n);
            var buffers = inputs.Select(x => x.ToArray()).ToArray();
            await ring.RunAsync(g => g.AllReduceAsync(buffers[g.Rank], reduce));
            var expected = RingOrderSum(inputs);
            if (reduce == ReduceOp.Mean)
            {
                for (var i = 0; i < n; i++)
            {
                expected[i] /= world;
            }
            }
            AssertAllEqual(expected, buffers, $"all-reduce {reduce} W={world} n={n}");
            for (var i = 0; i < n; i++)
            {
                var naive = 0.0;
                for (var r = 0; r < world; r++)
                {
                    naive += inputs[r][i];
                }
                naive /= reduce == ReduceOp.Mean ? world : 1;
                if (Math.Abs(buffers[0][i] - naive) > 1e-6 * Math.Max(1, Math.Abs(naive)))
                {
                    Assert.Fail($"all-reduce {reduce} W={world} n={n}: element {i} is {buffers[0][i]}, the double-precision sum is {naive}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Rings))]
    public async Task Should_copy_the_root_buffer_everywhere_when_broadcasting_from_a_non_zero_root(int world, CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(world, transport: transport);
        var root = world - 1;
        foreach (var n in Sizes)
        {
            var inputs = Inputs(world, n);
            var buffers = inputs.Select(x => x.ToArray()).ToArray();
            await ring.RunAsync(g => g.BroadcastAsync(buffers[g.Rank], root));
            AssertAllEqual(inputs[root], buffers, $"broadcast W={world} n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(Rings))]
    public async Task Should_receive_the_neighbour_buffer_when_exchanging_in_both_directions(int world, CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(world, transport: transport);
        foreach (var n in Sizes)
        {
            foreach (var forward in new[] { true, false })
            {
                var inputs = Inputs(world, n);
                var received = Outputs(world, n);
                await ring.RunAsync(g => g.NeighborExchangeAsync(inputs[g.Rank], received[g.Rank], forward));
                for (var r = 0; r < world; r++)
                {
                    var from = ((forward ? r - 1 : r + 1) + world) % world;
                    AssertBitEqual(inputs[from], received[r], $"neighbour exchange forward={forward} W={world} n={n} rank {r}");
                }
            }
        }
    }

    [Theory]
    [InlineData(3, CollectiveTransport.Grpc)]
    [InlineData(3, CollectiveTransport.Auto)]
    [InlineData(3, CollectiveTransport.Tcp)]
    public async Task Should_keep_working_when_operations_follow_each_other_including_barriers(int world, CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(world, transport: transport);
        for (var i = 0; i < 5; i++)
        {
            var buffers = Enumerable.Range(0, world).Select(r => new float[] { r + i, 1 }).ToArray();
            await ring.RunAsync(async g =>
            {
                await g.BarrierAsync();
                await g.AllReduceAsync(buffers[g.Rank], ReduceOp.Sum);
                await g.BarrierAsync();
            });
            AssertAllEqual([world * (world - 1) / 2f + world * i, world], buffers, $"iteration {i}");
        }
    }

    [Fact]
    public async Task Should_equal_the_reference_and_name_a_refused_token_when_receiving_with_the_reference_grpc_client()
    {
        await using (var ring = await LoopbackRing.StartAsync(3, o => o with { ReferenceClient = true }, transport: CollectiveTransport.Grpc))
        {
            var inputs = Inputs(3, 1_000_003);
            var buffers = inputs.Select(x => x.ToArray()).ToArray();
            await ring.RunAsync(g => g.AllReduceAsync(buffers[g.Rank], ReduceOp.Sum));
            AssertAllEqual(RingOrderSum(inputs), buffers, "all-reduce through Grpc.Net.Client");
        }
        await using var refusing = await LoopbackRing.StartAsync(2, o => o with { ReferenceClient = true, BearerToken = o.Rank == 1 ? "wrong" : o.BearerToken });
        // Rank 1's calls are refused, so rank 1 fails; rank 0 may still finish this barrier on what rank 1 sent it.
        var outcomes = await Task.WhenAll(refusing.Groups.Select(g => Task.Run(() => Record.ExceptionAsync(() => g.BarrierAsync()))));
        var refused = Assert.IsType<CollectiveException>(outcomes[1]);
        Assert.Contains("Unauthenticated", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>Block b summed as the ring does: in[b+1] + in[b+2] + ... + in[b], left to right (indices mod W).</summary>
    private static float[] RingOrderSum(float[][] inputs)
    {
        var world = inputs.Length;
        var n = inputs[0].Length;
        var sum = new float[n];
        for (var b = 0; b < world; b++)
        {
            for (var i = BlockPartition.Offset(n, world, b); i < BlockPartition.Offset(n, world, b) + BlockPartition.Count(n, world, b); i++)
            {
                var acc = inputs[(b + 1) % world][i];
                for (var j = 2; j <= world; j++)
                {
                    acc += inputs[(b + j) % world][i];
                }
                sum[i] = acc;
            }
        }
        return sum;
    }

    private static float[][] Inputs(int world, int n)
    {
        var inputs = new float[world][];
        for (var r = 0; r < world; r++)
        {
            var random = new Random(1000 * r + n);
            inputs[r] = new float[n];
            for (var i = 0; i < n; i++)
            {
                inputs[r][i] = (float)(random.NextDouble() * 2 - 1);
            }
        }
        return inputs;
    }

    private static float[][] Outputs(int world, int n)
    {
        var outputs = new float[world][];
        for (var r = 0; r < world; r++)
        {
            outputs[r] = new float[n];
            Array.Fill(outputs[r], float.NaN);
        }
        return outputs;
    }

    private static void AssertAllEqual(float[] expected, float[][] actual, string what)
    {
        for (var r = 0; r < actual.Length; r++)
        {
            AssertBitEqual(expected, actual[r], $"{what} rank {r}");
        }
    }

    private static void AssertBitEqual(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (var i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
            }
        }
    }
}
