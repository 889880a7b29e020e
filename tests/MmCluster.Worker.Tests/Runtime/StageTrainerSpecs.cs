using MmCluster.Collectives;
using MmCluster.Collectives.InProcess;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Tests.Distributed;
using MmCluster.Worker.Tests.Loss;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>
/// <see cref="StageTrainer{TModel,TStep}"/> in a recovery: two survivors trained in the first generation, a replacement
/// built <see cref="StageContext.Joining"/> (no collective while building), a state transfer on every rank of the new
/// generation, then lockstep training.
/// </summary>
public sealed class StageTrainerSpecs
{
    private static readonly TrainOptions Options = new() { LearningRate = 3e-3, WarmupSteps = 1, TotalSteps = 10 };

    private static StageContext Context(ICollectiveGroup group, bool joining) => new(
        new GenerationInfo("r", joining ? 2 : 1, group.Rank, group.WorldSize, [], default),
        new StageConfig { RunId = "r", RunDirectory = "/nonexistent", Stage = "clip", Kind = "clip", Preset = "clip-micro", ManifestPath = "/nonexistent" },
        group,
        _ => { })
    {
        Joining = joining,
    };

    /// <summary>A CLIP trainer on <paramref name="group"/>; <paramref name="built"/> gets its model and step.</summary>
    private static StageTrainer<ClipModel, TrainStep> Build(ICollectiveGroup group, bool joining, Action loadedStartWeights, Action<ClipModel, TrainStep> built) =>
        StageTrainer<ClipModel, TrainStep>.Build(Context(group, joining), new ClipModel(ClipConfig.Micro), new StageRecipe<ClipModel, TrainStep>(
            FeedFixtures.Builder(),
            _ => loadedStartWeights(),
            (model, averager) =>
            {
                var step = new TrainStep(model, Options, new CollectiveFeatureGatherer(group), averager);
                built(model, step);
                return step;
            },
            (_, _) => new Dictionary<string, double>(),
            _ => new StageCheckpointRecord("{}", new Dictionary<string, string>())));

    private static ClipBatch Batch(int seed) => StepBenchmark.RandomBatch(ClipConfig.Micro, 4, new Random(seed));

    [Fact]
    public void Should_train_in_lockstep_with_the_survivors_when_a_replacement_joined_and_received_the_state()
    {
        var first = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(20));
        var second = InProcessCollectiveGroup.Create(3, TimeSpan.FromSeconds(20));
        var startWeightLoads = new int[3];

        var ranks = RankThreads.Run(3, rank =>
        {
            var joining = rank == 2;
            var group = new RebindableGroup(joining ? second[rank] : first[rank]);
            ClipModel? model = null;
            TrainStep? step = null;
            using var trainer = Build(group, joining, () => startWeightLoads[rank]++, (m, s) => (model, step) = (m, s));
            if (!joining)
            {
                for (var i = 0; i < 2; i++)
                {
                    trainer.Train(Batch(10 * i + rank));
                }
                group.Inner = second[rank];   // rank 2 of the first generation died; the survivors keep their state
            }
            var stepBefore = trainer.Step;

            var result = trainer.TransferState(second[rank], sourceRank: 0);
            var stepAfter = trainer.Step;
            for (var i = 0; i < 3; i++)
            {
                trainer.Train(Batch(100 + (10 * i) + rank));
            }
            return (stepBefore, stepAfter, trainer.Step, result, State(model!, step!));
        }, TimeSpan.FromSeconds(60));

        Assert.Equal([1, 1, 1], startWeightLoads);
        Assert.Equal([2L, 2L, 0L], ranks.Select(r => r.stepBefore));
        Assert.All(ranks, r => Assert.Equal((2L, 5L, 2L), (r.stepAfter, r.Item3, r.result.Step)));
        Assert.Empty(TrainingStateSnapshot.Differences(ranks[0].Item5, ranks[1].Item5));
        Assert.Empty(TrainingStateSnapshot.Differences(ranks[0].Item5, ranks[2].Item5));
    }

    /// <summary>Weights, AdamW state and step; not the generator, which the three ranks of this process share.</summary>
    private static Dictionary<string, byte[]> State(ClipModel model, TrainStep step) =>
        TrainingStateSnapshot.Of(model, step.Optimizer, generator: null).Where(kv => kv.Key != "rng").ToDictionary();
}
