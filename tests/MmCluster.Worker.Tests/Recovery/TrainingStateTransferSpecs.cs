using MmCluster.Collectives;
using MmCluster.Collectives.InProcess;
using MmCluster.Collectives.Ring;
using MmCluster.Collectives.Tests.Ring;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Recovery;
using MmCluster.Worker.Tests.Distributed;
using MmCluster.Worker.Tests.Loss;
using MmCluster.Worker.Training;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Recovery;

/// <summary>
/// <see cref="TrainingStateTransfer"/>: ranks that trained apart (other weights, moments, step counts, generator states)
/// end bit-identical to the source, across every dtype, whatever the bucket size, in-process and over gRPC; ranks whose
/// layouts differ all fail naming the tensor.
/// </summary>
public sealed class TrainingStateTransferSpecs(ITestOutputHelper output)
{
    private static readonly TrainOptions Options = new() { LearningRate = 1e-2, WarmupSteps = 1, TotalSteps = 20 };

    private sealed record RankOutcome(
        Dictionary<string, byte[]> Before, Dictionary<string, byte[]> After, Dictionary<string, byte[]> Stepped, TrainingStateTransferResult Result);

    /// <summary>
    /// Rank r trains r + 1 steps alone on its own data with its own generator, then every rank takes part in the transfer
    /// from <paramref name="source"/>, then one identical step.
    /// </summary>
    private static RankOutcome[] TrainApartThenTransfer(IReadOnlyList<ICollectiveGroup> groups, int source, int bucketBytes)
    {
        return RankThreads.Run(groups.Count, rank =>
        {
            using var generator = new Generator((ulong)(40 + rank));
            using (rand(rank + 1, generator: generator))
            {
            }
            using var model = new MixedStateModel();
            using var optimizer = new StageOptimizer(model, Options);
            MixedStateModel.Train(model, optimizer, steps: rank + 1, seed: 10 + rank);
            var before = TrainingStateSnapshot.Of(model, optimizer, generator);

            var result = TrainingStateTransfer.Broadcast(groups[rank], source, model, optimizer, generator, bucketBytes);
            var after = TrainingStateSnapshot.Of(model, optimizer, generator);

            MixedStateModel.Train(model, optimizer, steps: 1, seed: 99);
            return new RankOutcome(before, after, TrainingStateSnapshot.Of(model, optimizer, generator), result);
        }, TimeSpan.FromSeconds(30));
    }

    private static void AssertTransferred(RankOutcome[] ranks, int source)
    {
        foreach (var (rank, outcome) in ranks.Index())
        {
            if (rank != source)
            {
                Assert.NotEmpty(TrainingStateSnapshot.Differences(outcome.Before, ranks[source].Before));
            }
            Assert.Empty(TrainingStateSnapshot.Differences(outcome.After, ranks[source].Before));
            Assert.Empty(TrainingStateSnapshot.Differences(outcome.Stepped, ranks[source].Stepped));
            Assert.Equal(source + 1, outcome.Result.Step);
            Assert.Equal(ranks[source].Result with { Milliseconds = 0 }, outcome.Result with { Milliseconds = 0 });
        }
    }

    [Theory]
    [InlineData(TrainingStateTransfer.DefaultBucketBytes)]
    [InlineData(100)]   // tensors straddle buckets; many broadcasts
    public void Should_make_every_rank_bit_identical_to_the_source_when_ranks_trained_apart(int bucketBytes)
    {
        var groups = InProcessCollectiveGroup.Create(3, TimeSpan.FromSeconds(20));

        var ranks = TrainApartThenTransfer(groups, source: 1, bucketBytes);

        AssertTransferred(ranks, source: 1);
        Assert.Contains("norm.num_batches_tracked", ranks[1].Before.Keys);
        Assert.Contains("optim.gain.exp_avg", ranks[1].Before.Keys);   // bf16 moments
        var expected = bucketBytes == TrainingStateTransfer.DefaultBucketBytes ? 1 : (ranks[1].Result.Bytes + bucketBytes - 1) / bucketBytes;
        Assert.Equal(expected, ranks[1].Result.Buckets);
        output.WriteLine($"{ranks[1].Result}");
    }

    [Fact]
    public async Task Should_make_every_rank_bit_identical_to_the_source_when_ranks_talk_over_grpc()
    {
        await using var ring = await LoopbackRing.StartAsync(2, deadline: TimeSpan.FromSeconds(20), transport: CollectiveTransport.Grpc);

        var ranks = TrainApartThenTransfer(ring.Groups, source: 0, bucketBytes: 256);

        AssertTransferred(ranks, source: 0);
        output.WriteLine($"{ranks[0].Result}");
    }

    [Fact]
    public void Should_fail_on_every_rank_naming_the_tensor_when_a_rank_built_another_layout()
    {
        var groups = InProcessCollectiveGroup.Create(3, TimeSpan.FromSeconds(10));

        var errors = RankThreads.Run(3, rank =>
        {
            using var model = new MixedStateModel(hidden: rank == 2 ? 10 : 12);
            using var optimizer = new StageOptimizer(model, Options);
            using var generator = new Generator(1);
            return Record.Exception(() => TrainingStateTransfer.Broadcast(groups[rank], 0, model, optimizer, generator, 1 << 10));
        }, TimeSpan.FromSeconds(20));

        foreach (var error in errors)
        {
            var refused = Assert.IsType<InvalidDataException>(error);
            Assert.Contains("rank 2 differs first at tensor 'fc1.weight' (Float32 [12, 6]) on rank 0", refused.Message);
        }
        Assert.Contains("rank 2 has tensor 'fc1.weight' (Float32 [10, 6])", errors[2]!.Message);
    }

    [Fact]
    public void Should_move_nothing_when_the_group_has_one_rank()
    {
        var group = InProcessCollectiveGroup.Create(1, TimeSpan.FromSeconds(5))[0];
        using var model = new MixedStateModel();
        using var optimizer = new StageOptimizer(model, Options);

        var result = TrainingStateTransfer.Broadcast(group, 0, model, optimizer);

        Assert.Equal((0L, 0), (result.Bytes, result.Buckets));
    }
}
