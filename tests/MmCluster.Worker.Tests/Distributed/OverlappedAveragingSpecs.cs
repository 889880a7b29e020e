using MmCluster.Collectives.InProcess;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Tests.Loss;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>
/// Averaging overlapped with backward (issue 15): the same steps of a real CLIP model (row-sparse token embedding
/// included) on W ranks, once averaging after backward and once launching buckets during it, give the same gradients;
/// and the overlap really happened (buckets launched inside backward; Debug builds also check that no gradient of a
/// bucket changed after its launch).
/// </summary>
public sealed class OverlappedAveragingSpecs
{
    private const int Steps = 3;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Should_give_the_gradients_of_the_non_overlapped_path_when_buckets_are_all_reduced_during_backward(int world)
    {
        var config = ClipConfig.Micro with { VocabSize = (int)GradientAverager.RowSparseMinRows + 4 };
        using var reference = new ClipModel(config);
        var initial = reference.parameters().Select(p => p.detach().clone()).ToArray();
        try
        {
            var plain = Train(world, config, initial, overlap: false);
            var overlapped = Train(world, config, initial, overlap: true);

            for (var rank = 0; rank < world; rank++)
            {
                Assert.True(overlapped[rank].LaunchedDuringBackward > 0, $"rank {rank}: no bucket was launched during backward");
                foreach (var ((name, expected), (_, actual)) in plain[rank].Gradients.Zip(overlapped[rank].Gradients))
                {
                    var error = GradientEquivalence.RelativeError(expected, actual);
                    Assert.True(error <= 1e-6, $"rank {rank}: the gradient of {name} differs by {error:E2} relative");
                }
            }
        }
        finally
        {
            foreach (var value in initial)
            {
                value.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("blip2-stage1")]
    [InlineData("blip2-stage2")]
    public async Task Should_keep_the_replicas_identical_when_the_q_former_runs_several_passes_and_buckets_launch_during_backward(string stage)
    {
        // Stage 1 runs the Q-Former's layers three times a step (ITC, ITM, ITG): a layer's bucket may only launch once
        // backward has left its first pass. Debug builds throw if a gradient changed after its bucket was launched.
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var batch = Blip2.Blip2Fixtures.Batch(8);
        var first = Blip2.Blip2Fixtures.NewStep(stage, new TrainOptions { TotalSteps = 4 }).Model;
        var second = Blip2.Blip2Fixtures.NewStep(stage, new TrainOptions { TotalSteps = 4 }).Model;
        var models = new[] { first, Blip2.Blip2Fixtures.Replicate(first, second) };
        var launched = RankThreads.Run(2, rank =>
        {
            using var averager = new GradientAverager(groups[rank], overlapWithBackward: true);
            using IStageStep step = models[rank] switch
            {
                MmCluster.Worker.Model.Blip2.Blip2Stage1Model s1 => new Blip2Stage1Step(s1, new TrainOptions { TotalSteps = 4 }, new CollectiveFeatureGatherer(groups[rank]), averager),
                var s2 => new Blip2Stage2Step((MmCluster.Worker.Model.Blip2.Blip2Stage2Model)s2, new TrainOptions { TotalSteps = 4 }, averager),
            };
            var local = Blip2.Blip2Fixtures.Slice(batch, rank * 4, 4);
            for (var i = 0; i < Steps; i++)
            {
                step.Run(local);
            }
            return averager.LaunchedDuringBackward;
        });

        Assert.All(launched, count => Assert.True(count > 0, "no bucket was launched during backward"));
        var (a, b) = (Blip2.Blip2Fixtures.Snapshot(models[0]), Blip2.Blip2Fixtures.Snapshot(models[1]));
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));
        foreach (var model in models)
        {
            model.Dispose();
        }
        foreach (var group in groups)
        {
            await group.DisposeAsync();
        }
    }

    private static (IReadOnlyList<(string Name, double[] Gradient)> Gradients, int LaunchedDuringBackward)[] Train(
        int world, ClipConfig config, torch.Tensor[] initial, bool overlap)
    {
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        return RankThreads.Run(world, rank =>
        {
            using var model = new ClipModel(config);
            using (torch.no_grad())
            {
                foreach (var (parameter, value) in model.parameters().Zip(initial))
                {
                    parameter.copy_(value);
                }
            }
            using var averager = new GradientAverager(groups[rank], overlapWithBackward: overlap);
            using var trainer = new TrainStep(model, new TrainOptions { LearningRate = 3e-3, TotalSteps = 10 }, new CollectiveFeatureGatherer(groups[rank]), averager);
            for (var step = 0; step < Steps; step++)
            {
                trainer.Run(StepBenchmark.RandomBatch(model.Config, 8, new Random(10 * step + rank)));
            }
            Assert.Equal(overlap, averager.Overlapping);
            var gradients = model.named_parameters()
                .Select(p => (p.name, p.parameter.grad is { } g ? g.to_type(torch.ScalarType.Float64).data<double>().ToArray() : []))
                .ToList();
            return ((IReadOnlyList<(string, double[])>)gradients, averager.LaunchedDuringBackward);
        });
    }
}
