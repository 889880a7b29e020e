using MmCluster.Collectives;
using MmCluster.Collectives.Ring;
using MmCluster.Collectives.Tests.Ring;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>
/// bf16 on the wire (<see cref="WirePrecision.BFloat16"/>) over real loopback gRPC, W = 2, 3, 4, inline and same-host
/// lanes: every rank ends bit-identical, equal to a one-process reference that rounds where the ring rounds, and close to
/// the exact sum; ranks that disagree on the wire fail naming each other; the rounding is libtorch's.
/// </summary>
public sealed class GrpcCollectiveBFloat16Specs
{
    private static readonly int[] Sizes = [0, 1, 7, 300_001];

    public static TheoryData<int, ReduceOp, CollectiveTransport> ReducingRings()
    {
        var data = new TheoryData<int, ReduceOp, CollectiveTransport>();
        foreach (var world in new[] { 2, 3, 4 })
        {
            foreach (var transport in new[] { CollectiveTransport.Grpc, CollectiveTransport.Auto, CollectiveTransport.Tcp })
            {
                data.Add(world, world == 3 ? ReduceOp.Mean : ReduceOp.Sum, transport);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ReducingRings))]
    public async Task Should_agree_on_every_rank_and_equal_the_rounding_ring_reference_when_all_reducing_with_a_bf16_wire(int world, ReduceOp reduce,
        CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(world, transport: transport);
        foreach (var n in Sizes)
        {
            var inputs = Inputs(world, n);
            var buffers = inputs.Select(x => x.ToArray()).ToArray();
            await ring.RunAsync(g => g.AllReduceAsync(buffers[g.Rank], reduce, WirePrecision.BFloat16));

            var expected = RoundingRingReference(inputs, reduce);
            for (var r = 0; r < world; r++)
            {
                AssertBitEqual(expected, buffers[r], $"bf16 all-reduce {reduce} W={world} n={n} rank {r}");
            }
            for (var i = 0; i < n; i++)
            {
                // W roundings of at most half a bf16 ulp (2^-9 relative) each, of partial sums bounded by the sum of magnitudes.
                double exact = 0, magnitude = 0;
                for (var r = 0; r < world; r++)
                {
                    exact += inputs[r][i];
                    magnitude += Math.Abs(inputs[r][i]);
                }
                var scale = reduce == ReduceOp.Mean ? world : 1;
                var bound = world * Math.Pow(2, -8) * magnitude / scale + 1e-30;
                Assert.True(Math.Abs(buffers[0][i] - exact / scale) <= bound,
                    $"bf16 all-reduce W={world} n={n}: element {i} is {buffers[0][i]}, exact {exact / scale}, allowed error {bound}");
            }
        }
    }

    [Theory]
    [InlineData(3, CollectiveTransport.Grpc)]
    [InlineData(2, CollectiveTransport.Auto)]
    public async Task Should_deliver_every_block_rounded_to_bf16_when_all_gathering_with_a_bf16_wire(int world, CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(world, transport: transport);
        foreach (var n in Sizes)
        {
            var inputs = Inputs(world, n);
            var outputs = inputs.Select(_ => new float[world * n]).ToArray();
            await ring.RunAsync(g => g.AllGatherAsync(inputs[g.Rank], outputs[g.Rank], WirePrecision.BFloat16));

            var expected = inputs.SelectMany(x => x).Select(BFloat16Bits.Round).ToArray();
            for (var r = 0; r < world; r++)
            {
                AssertBitEqual(expected, outputs[r], $"bf16 all-gather W={world} n={n} rank {r}");
            }
        }
    }

    [Fact]
    public async Task Should_fail_every_rank_naming_its_neighbour_when_ranks_choose_different_wire_precisions()
    {
        await using var ring = await LoopbackRing.StartAsync(2, deadline: TimeSpan.FromSeconds(5));
        var failures = await Task.WhenAll(ring.Groups.Select(g => Task.Run(() => Assert.ThrowsAsync<CollectiveException>(() =>
            g.AllReduceAsync(new float[1000], ReduceOp.Sum, g.Rank == 0 ? WirePrecision.BFloat16 : WirePrecision.Float32)))));

        Assert.All(failures, f => Assert.Contains("the ranks chose different wire precisions", f.Message, StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Message.StartsWith("rank 0: rank 1 (", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_round_exactly_as_libtorch_does_when_narrowing_to_bf16()
    {
        var random = new Random(5);
        var values = Enumerable.Range(0, 100_000).Select(i => i % 7 == 0
            ? BitConverter.UInt32BitsToSingle((uint)random.Next(0, 0x7F80) << 16 | 0x8000 | (i % 2 == 0 ? 0 : 0x8000_0000)) // exact ties, finite
            : (float)((random.NextDouble() * 2 - 1) * Math.Pow(2, random.Next(-130, 128)))).ToArray();

        using var source = tensor(values);
        using var narrowed = source.to_type(ScalarType.BFloat16);
        using var back = narrowed.to_type(ScalarType.Float32);
        var torchValues = back.data<float>().ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            var ours = BFloat16Bits.Round(values[i]);
            if (BitConverter.SingleToUInt32Bits(ours) != BitConverter.SingleToUInt32Bits(torchValues[i]))
            {
                Assert.Fail($"{values[i]:R} ({BitConverter.SingleToUInt32Bits(values[i]):X8}): ours {ours:R}, libtorch {torchValues[i]:R}");
            }
        }
    }

    /// <summary>
    /// The ring's order (block b: in[b+1] + in[b+2] + ... + in[b]) with its rounding points: every partial sum is rounded to
    /// bf16 when it is sent, the owner adds its own float32 value, divides for the mean, and rounds the finished block.
    /// </summary>
    private static float[] RoundingRingReference(float[][] inputs, ReduceOp reduce)
    {
        var world = inputs.Length;
        var n = inputs[0].Length;
        var result = new float[n];
        for (var b = 0; b < world; b++)
        {
            var offset = BlockPartition.Offset(n, world, b);
            for (var i = offset; i < offset + BlockPartition.Count(n, world, b); i++)
            {
                var partial = inputs[(b + 1) % world][i];
                for (var j = 2; j <= world; j++)
                {
                    partial = BFloat16Bits.Round(partial) + inputs[(b + j) % world][i];
                }
                result[i] = BFloat16Bits.Round(reduce == ReduceOp.Mean ? partial / world : partial);
            }
        }
        return result;
    }

    private static float[][] Inputs(int world, int n)
    {
        return Enumerable.Range(0, world).Select(r =>
        {
            var random = new Random(77 * r + n);
            return Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-3, 4)))).ToArray();
        }).ToArray();
    }

    private static void AssertBitEqual(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (var i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToUInt32Bits(expected[i]) != BitConverter.SingleToUInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
            }
        }
    }
}
