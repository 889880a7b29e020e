using MmCluster.Collectives.InProcess;
using MmCluster.Worker.Distributed;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Loss;

/// <summary>
/// The live tensor count of each rank's thread does not grow across repeated distributed steps (forward, loss with the
/// differentiable collectives, backward, gradient averaging), each under its own dispose scope as the trainer runs them.
/// </summary>
public sealed class DistributedStepLeakSpecs
{
    private const int World = 2;
    private const int LocalBatch = 3;

    [Theory]
    [InlineData("clip")]
    [InlineData("siglip")]
    public void Should_keep_live_tensor_count_flat_when_steps_repeat(string loss)
    {
        var setup = ContrastiveSetup.ByName(loss);
        var groups = InProcessCollectiveGroup.Create(World, TimeSpan.FromSeconds(30));
        var (images, texts) = GradientEquivalence.Batch(World * LocalBatch);
        using (images)
        using (texts)
        {
            var growth = RankThreads.Run(World, rank =>
            {
                using var model = setup.NewModel(GradientEquivalence.ModelSeed);
                var rankLoss = setup.Create(groups[rank]);
                using var averager = new GradientAverager(groups[rank], model.parameters());
                using var myImages = images.narrow(0, rank * LocalBatch, LocalBatch);
                using var myTexts = texts.narrow(0, rank * LocalBatch, LocalBatch);

                GradientEquivalence.Step(model, rankLoss, averager, myImages, myTexts);        // warm-up: lazily created state settles
                var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                for (var i = 0; i < 5; i++)
                {
                    GradientEquivalence.Step(model, rankLoss, averager, myImages, myTexts);
                }

                return DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
            });

            Assert.All(growth, g => Assert.Equal(0, g));
        }
    }
}
