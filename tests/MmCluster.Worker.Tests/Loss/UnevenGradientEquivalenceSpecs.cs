using MmCluster.Collectives;
using MmCluster.Collectives.InProcess;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Training;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Loss;

/// <summary>
/// A global batch B that W does not divide (the world after a lost rank): rank r holds b_r rows (<see cref="BatchSplit"/>),
/// the gatherer pads, and each rank's CLIP loss is scaled by w_r = b_r·W/B before backward. The averaged gradients must
/// still equal one process's on the global batch, to 1e-5 relative, on every rank; without the weights they must not.
/// </summary>
public sealed class UnevenGradientEquivalenceSpecs
{
    [Theory]
    [InlineData(7, 2)]
    [InlineData(7, 3)]
    [InlineData(8, 3)]
    public async Task Should_match_one_process_gradients_on_every_rank_when_W_does_not_divide_the_global_batch(int globalBatch, int world)
    {
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var (images, texts) = GradientEquivalence.Batch(globalBatch);
        using (images)
        using (texts)
        {
            var reference = GradientEquivalence.Reference(ContrastiveSetup.Clip, images, texts);
            var ranks = Distributed(groups, globalBatch, images, texts, weigh: true);

            for (var rank = 0; rank < world; rank++)
            {
                GradientEquivalence.AssertEquivalent(reference, ranks[rank], $"clip B={globalBatch} W={world} rank {rank}");
            }
        }

        await GradientEquivalence.DisposeAll(groups);
    }

    [Theory]
    [InlineData(7, 2)]
    [InlineData(8, 3)]
    public async Task Should_differ_from_one_process_gradients_when_uneven_ranks_skip_the_loss_weights(int globalBatch, int world)
    {
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var (images, texts) = GradientEquivalence.Batch(globalBatch);
        using (images)
        using (texts)
        {
            var reference = GradientEquivalence.Reference(ContrastiveSetup.Clip, images, texts);
            var ranks = Distributed(groups, globalBatch, images, texts, weigh: false);

            // Unweighted, a row of a short rank counts 1/(W·b_r) instead of 1/B: the step leans towards the short ranks' rows.
            var worst = reference.Zip(ranks[0]).Max(p => GradientEquivalence.RelativeError(p.First.Gradient, p.Second.Gradient));
            Assert.True(worst > 1e-3, $"without the loss weights the gradient should be off, worst relative error only {worst:E2}");
        }

        await GradientEquivalence.DisposeAll(groups);
    }

    [Fact]
    public async Task Should_give_bit_identical_gradients_to_the_plain_gather_when_W_divides_the_global_batch()
    {
        const int world = 3;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var (images, texts) = GradientEquivalence.Batch(2 * world);
        using (images)
        using (texts)
        {
            var plain = GradientEquivalence.Distributed(groups, g => ContrastiveSetup.Clip.Create(g), images, texts, ContrastiveSetup.Clip);
            var elastic = Distributed(groups, 2 * world, images, texts, weigh: true);

            for (var rank = 0; rank < world; rank++)
            {
                Assert.Equal(plain[rank].Select(p => p.Name), elastic[rank].Select(p => p.Name));
                Assert.All(plain[rank].Zip(elastic[rank]), p => Assert.Equal(p.First.Gradient, p.Second.Gradient));
            }
        }

        await GradientEquivalence.DisposeAll(groups);
    }

    /// <summary>Every rank's averaged gradients, rank r on its <see cref="BatchSplit"/> rows, its loss weighted or not.</summary>
    private static IReadOnlyList<(string Name, double[] Gradient)>[] Distributed(
        IReadOnlyList<ICollectiveGroup> groups, int globalBatch, Tensor images, Tensor texts, bool weigh)
    {
        var world = groups.Count;
        var models = Enumerable.Range(0, world).Select(_ => ContrastiveSetup.Clip.NewModel(GradientEquivalence.ModelSeed)).ToArray();
        try
        {
            return RankThreads.Run(world, rank =>
            {
                var model = models[rank];
                var gatherer = new CollectiveFeatureGatherer(groups[rank], globalBatch);
                var loss = new ClipRankLoss(gatherer);
                using var averager = new GradientAverager(groups[rank], model.parameters());
                var (offset, rows) = (BatchSplit.Offset(globalBatch, world, rank), BatchSplit.Rows(globalBatch, world, rank));
                using var myImages = images.narrow(0, offset, rows);
                using var myTexts = texts.narrow(0, offset, rows);
                using (NewDisposeScope())
                {
                    model.zero_grad();
                    var (image, text) = model.forward(myImages, myTexts);
                    var value = loss.Compute(model, image, text);
                    var scaled = weigh ? LossWeighting.Weigh(value, gatherer, rows) : value;
                    scaled.backward();
                    gatherer.ThrowIfBackwardFailed();
                    averager.Average();
                }
                return model.Gradients();
            });
        }
        finally
        {
            foreach (var model in models)
            {
                model.Dispose();
            }
        }
    }
}
