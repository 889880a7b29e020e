using MmCluster.Collectives.InProcess;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Tests.Loss;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>The gather of a global batch that W does not divide: padding in, padding out, each owner's gradient back.</summary>
public sealed class UnevenFeatureGathererSpecs
{
    private const int Columns = 3;

    [Theory]
    [InlineData(7, 3)]
    [InlineData(8, 3)]
    [InlineData(5, 2)]
    public void Should_gather_the_real_rows_in_rank_order_and_return_each_owner_the_sum_of_its_rows_gradients_when_blocks_differ(int globalBatch, int world)
    {
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var results = RankThreads.Run(world, rank =>
        {
            using var scope = NewDisposeScope();
            var gatherer = new CollectiveFeatureGatherer(groups[rank], globalBatch);
            var local = Block(globalBatch, world, rank).requires_grad_();
            var gathered = gatherer.AllGather(local);                     // (B, 3)
            var loss = (gathered * Weights(rank, globalBatch)).sum();
            loss.backward();
            gatherer.ThrowIfBackwardFailed();
            return (Gathered: Values(gathered), Gradient: Values(local.grad!), Offset: gatherer.RowOffset(local.shape[0]));
        });

        var expectedGathered = Enumerable.Range(0, world).SelectMany(r => Values(Block(globalBatch, world, r))).ToArray();
        for (var rank = 0; rank < world; rank++)
        {
            var (offset, rows) = (BatchSplit.Offset(globalBatch, world, rank), BatchSplit.Rows(globalBatch, world, rank));
            Assert.Equal(expectedGathered, results[rank].Gathered);
            Assert.Equal(offset, results[rank].Offset);
            var expectedGradient = new double[rows * Columns];
            for (var s = 0; s < world; s++)
            {
                using var own = Weights(s, globalBatch).narrow(0, offset, rows);
                var values = Values(own);
                for (var i = 0; i < values.Length; i++)
                {
                    expectedGradient[i] += values[i];
                }
            }
            Assert.Equal(expectedGradient, results[rank].Gradient);
        }
    }

    [Fact]
    public void Should_refuse_naming_the_split_when_a_rank_holds_other_rows_than_its_share()
    {
        var groups = InProcessCollectiveGroup.Create(3, TimeSpan.FromSeconds(30));
        using var scope = NewDisposeScope();
        var gatherer = new CollectiveFeatureGatherer(groups[2], globalBatch: 7);

        var error = Assert.Throws<InvalidOperationException>(() => gatherer.AllGather(zeros(3, Columns)));

        Assert.Contains("rank 2 holds 3 rows, but a global batch of 7 over 3 ranks gives it 2 (3/2/2)", error.Message);
    }

    [Fact]
    public void Should_refuse_naming_the_stage_and_the_split_when_the_siglip_ring_meets_an_uneven_split()
    {
        var groups = InProcessCollectiveGroup.Create(3, TimeSpan.FromSeconds(30));
        using var scope = NewDisposeScope();
        var ring = new CollectiveRingExchanger(groups[0], globalBatch: 7, stage: "clip-siglip");

        var error = Assert.Throws<InvalidOperationException>(() => ring.Exchange(zeros(3, Columns)));

        Assert.Contains("stage 'clip-siglip'", error.Message);
        Assert.Contains("a global batch of 7 over 3 ranks splits 3/2/2", error.Message);
    }

    private static Tensor Block(int globalBatch, int world, int rank)
    {
        var (offset, rows) = (BatchSplit.Offset(globalBatch, world, rank), BatchSplit.Rows(globalBatch, world, rank));
        return arange(offset * Columns, (offset + rows) * Columns, dtype: ScalarType.Float32).view(rows, Columns) + 1;
    }

    /// <summary>Rank s's loss weights on the gathered (B, 3) tensor: distinct per rank and row.</summary>
    private static Tensor Weights(int rank, int globalBatch) =>
        arange(globalBatch * Columns, dtype: ScalarType.Float32).view(globalBatch, Columns) * 0.25 + rank;

    private static double[] Values(Tensor t)
    {
        using var d = t.detach().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }
}
