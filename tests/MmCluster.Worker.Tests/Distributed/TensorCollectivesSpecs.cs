using MmCluster.Collectives;
using MmCluster.Collectives.Ring;
using MmCluster.Collectives.Tests.Ring;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Tests.Loss;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>The tensor boundary picks the wire from the tensor: bf16 tensors travel as bf16 (exact), others as float32.</summary>
public sealed class TensorCollectivesSpecs
{
    [Fact]
    public async Task Should_gather_bf16_tensors_exactly_over_a_bf16_wire_and_float32_tensors_over_float32()
    {
        await using var ring = await LoopbackRing.StartAsync(2, transport: CollectiveTransport.Grpc);
        var recorders = ring.Groups.Select(g => new WireRecorder(g)).ToArray();
        var results = RankThreads.Run(2, rank =>
        {
            using var scope = NewDisposeScope();
            var values = randn(new long[] { 50, 7 }, generator: new Generator(3 + (ulong)rank)) * 1000;
            var half = values.to_type(ScalarType.BFloat16);
            var gatheredHalf = TensorCollectives.AllGather(recorders[rank], half);
            var gatheredFull = TensorCollectives.AllGather(recorders[rank], values);
            return (Half: half.to_type(ScalarType.Float32).data<float>().ToArray(), Full: values.data<float>().ToArray(),
                GatheredHalfType: gatheredHalf.dtype, GatheredHalf: gatheredHalf.to_type(ScalarType.Float32).data<float>().ToArray(),
                GatheredFull: gatheredFull.data<float>().ToArray());
        });

        var expectedHalf = results.SelectMany(r => r.Half).ToArray();
        var expectedFull = results.SelectMany(r => r.Full).ToArray();
        foreach (var result in results)
        {
            Assert.Equal(ScalarType.BFloat16, result.GatheredHalfType);
            Assert.Equal(expectedHalf, result.GatheredHalf);  // bit for bit: bf16 values survive a bf16 wire
            Assert.Equal(expectedFull, result.GatheredFull);
        }
        Assert.All(recorders, r => Assert.Equal([WirePrecision.BFloat16, WirePrecision.Float32], r.Gathers));
    }

    /// <summary>Forwards every call and records the wire of each all-gather.</summary>
    private sealed class WireRecorder(ICollectiveGroup inner) : ForwardingGroup
    {
        public List<WirePrecision> Gathers { get; } = [];

        protected override ICollectiveGroup Inner => inner;

        public override Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, CancellationToken ct = default) =>
            AllGatherAsync(local, output, WirePrecision.Float32, ct);

        public override Task AllGatherAsync(ReadOnlyMemory<float> local, Memory<float> output, WirePrecision wire, CancellationToken ct = default)
        {
            Gathers.Add(wire);
            return inner.AllGatherAsync(local, output, wire, ct);
        }

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
