using MmCluster.Collectives;
using MmCluster.Collectives.InProcess;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model.Loss;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Loss;

/// <summary>
/// Distributed step (local batch b on each of W in-process ranks, then gradient averaging) versus one process on the
/// global batch W·b: the encoders', logit scale's and bias's gradients must agree to 1e-5 relative on every rank.
/// </summary>
public sealed class GradientEquivalenceSpecs
{
    private const int LocalBatch = 3;

    public static TheoryData<string, int> LossesAndWorlds()
    {
        var data = new TheoryData<string, int>();
        foreach (var loss in new[] { ContrastiveSetup.Clip.Name, ContrastiveSetup.SigLip.Name })
        {
            foreach (var world in new[] { 2, 3, 4 })
            {
                data.Add(loss, world);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(LossesAndWorlds))]
    public async Task Should_match_one_process_gradients_on_every_rank_when_ranks_gather_in_process(string loss, int world)
    {
        var setup = ContrastiveSetup.ByName(loss);
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var (images, texts) = GradientEquivalence.Batch(world * LocalBatch);
        using (images)
        using (texts)
        {
            var reference = GradientEquivalence.Reference(setup, images, texts);
            var ranks = GradientEquivalence.Distributed(groups, g => setup.Create(g), images, texts, setup);

            for (var rank = 0; rank < world; rank++)
            {
                GradientEquivalence.AssertEquivalent(reference, ranks[rank], $"{loss} W={world} rank {rank}");
            }
        }

        await GradientEquivalence.DisposeAll(groups);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Should_differ_from_one_process_gradients_when_features_are_gathered_without_gradient(int world)
    {
        var setup = ContrastiveSetup.Clip;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var (images, texts) = GradientEquivalence.Batch(world * LocalBatch);
        using (images)
        using (texts)
        {
            var reference = GradientEquivalence.Reference(setup, images, texts);
            var ranks = GradientEquivalence.Distributed(
                groups, g => new ClipRankLoss(new NoGradGatherer(new CollectiveFeatureGatherer(g))), images, texts, setup);

            // OpenCLIP local loss + gather without grad (issues #980, #1047): each feature keeps only its anchor-row gradient.
            var encoderErrors = reference.Zip(ranks[0])
                .Where(p => p.First.Name.Contains("tower"))
                .Select(p => GradientEquivalence.RelativeError(p.First.Gradient, p.Second.Gradient))
                .ToArray();
            Assert.All(encoderErrors, e => Assert.True(e > 1e-2, $"a no-grad gather should bias the encoder gradient, error only {e:E2}"));
        }

        await GradientEquivalence.DisposeAll(groups);
    }

    /// <summary>The classic bug, for the negative control: gathered columns carry no gradient, only the local block does.</summary>
    private sealed class NoGradGatherer(CollectiveFeatureGatherer inner) : IFeatureGatherer
    {
        public int Rank => inner.Rank;

        public int WorldSize => inner.WorldSize;

        public long RowOffset(long localRows) => inner.RowOffset(localRows);

        public double LossWeight(long localRows) => inner.LossWeight(localRows);

        public Tensor AllGather(Tensor local)
        {
            var b = local.shape[0];
            using var detached = local.detach();
            using var all = inner.AllGather(detached);
            using var before = all.narrow(0, 0, Rank * b);
            using var after = all.narrow(0, (Rank + 1) * b, (WorldSize - Rank - 1) * b);
            return cat([before, local, after], 0);
        }
    }
}
