using MmCluster.Collectives.InProcess;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

public sealed class TrainStepSpecs
{
    internal static ClipBatch MicroBatch(int seed = 0) => StepBenchmark.RandomBatch(ClipConfig.Micro, 8, new Random(seed));

    private sealed class CountingAverager : IGradientAverager
    {
        public int Calls { get; private set; }

        public int GradientsSeen { get; private set; }

        public void AverageGradients(IReadOnlyList<Parameter> parameters)
        {
            Calls++;
            GradientsSeen = parameters.Count(p => p.grad is not null);
        }
    }

    [Fact]
    public void Should_lower_the_loss_when_stepping_repeatedly_on_one_batch()
    {
        torch.random.manual_seed(5);
        using var model = new ClipModel(ClipConfig.Micro);
        using var trainer = new TrainStep(model, new TrainOptions { LearningRate = 3e-3, TotalSteps = 30 }, SingleRankGatherer.Instance);
        var batch = MicroBatch();

        var first = trainer.Run(batch);
        TrainStepResult last = first;
        for (var i = 0; i < 29; i++)
        {
            last = trainer.Run(batch);
        }

        Assert.Equal(30, last.Step);
        Assert.True(last.Loss < first.Loss * 0.5, $"loss went from {first.Loss} to {last.Loss}");
        Assert.True(first.GradNorm > 0 && double.IsFinite(first.GradNorm));
    }

    [Fact]
    public void Should_call_the_averager_with_every_gradient_when_running_a_step()
    {
        torch.random.manual_seed(6);
        using var model = new ClipModel(ClipConfig.Micro);
        var averager = new CountingAverager();
        using var trainer = new TrainStep(model, new TrainOptions(), SingleRankGatherer.Instance, averager);

        trainer.Run(MicroBatch());

        Assert.Equal(1, averager.Calls);
        Assert.Equal(model.parameters().Count(), averager.GradientsSeen);
    }

    [Fact]
    public void Should_keep_the_replicas_identical_when_two_ranks_step_with_the_token_rows_they_looked_up()
    {
        const int world = 2;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var config = ClipConfig.Micro with { VocabSize = (int)GradientAverager.RowSparseMinRows + 4 };
        // Identical replicas by copying one initialisation (the seeded generator is process-wide, and specs of other
        // classes draw from it in parallel, so seeding each rank's construction would not be enough).
        using var reference = new ClipModel(config);
        var initial = reference.parameters().Select(p => p.detach().clone()).ToArray();
        var weights = Tests.Loss.RankThreads.Run(world, rank =>
        {
            using var model = new ClipModel(config);
            using (torch.no_grad())
            {
                foreach (var (parameter, value) in model.parameters().Zip(initial))
                {
                    parameter.copy_(value);
                }
            }
            using var averager = new GradientAverager(groups[rank]);
            using var trainer = new TrainStep(model, new TrainOptions { LearningRate = 3e-3, TotalSteps = 10 }, new CollectiveFeatureGatherer(groups[rank]), averager);
            for (var step = 0; step < 3; step++)
            {
                trainer.Run(StepBenchmark.RandomBatch(model.Config, 8, new Random(10 * step + rank))); // Debug builds check the hint
            }
            using var embedding = model.TokenEmbedding.detach().clone();
            return embedding.data<float>().ToArray();
        });
        foreach (var value in initial)
        {
            value.Dispose();
        }

        Assert.Equal(weights[0], weights[1]);
    }

    [Fact]
    public void Should_report_the_scheduled_learning_rate_when_warming_up()
    {
        torch.random.manual_seed(7);
        using var model = new ClipModel(ClipConfig.Micro);
        using var trainer = new TrainStep(model, new TrainOptions { LearningRate = 1e-3, WarmupSteps = 10, TotalSteps = 20 }, SingleRankGatherer.Instance);

        Assert.Equal(1e-4, trainer.Run(MicroBatch()).LearningRate, 12);
        Assert.Equal(2e-4, trainer.Run(MicroBatch()).LearningRate, 12);
    }

    [Fact]
    public void Should_exempt_gains_biases_embeddings_and_logit_scale_when_grouping_for_weight_decay()
    {
        using var model = new ClipModel(ClipConfig.Micro);
        var exempt = model.named_parameters().Where(p => StageOptimizer.IsExcludedFromDecay(p.name, p.parameter)).Select(p => p.name).ToHashSet();

        Assert.Contains("logit_scale", exempt);
        Assert.Contains("token_embedding.weight", exempt);
        Assert.Contains("visual.positional_embedding", exempt);
        Assert.Contains("ln_final.weight", exempt);
        Assert.Contains("transformer.resblocks.0.attn.in_proj_bias", exempt);
        Assert.DoesNotContain("transformer.resblocks.0.attn.in_proj_weight", exempt);
        Assert.DoesNotContain("visual.proj", exempt);
        Assert.DoesNotContain("text_projection", exempt);
    }

    [Fact]
    public void Should_not_grow_live_tensors_when_running_many_steps()
    {
        torch.random.manual_seed(8);
        using var model = new ClipModel(ClipConfig.Micro);
        using var trainer = new TrainStep(model, new TrainOptions(), SingleRankGatherer.Instance);
        var batch = MicroBatch();
        trainer.Run(batch);
        trainer.Run(batch);   // gradients and optimizer state exist from here on
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        for (var i = 0; i < 5; i++)
        {
            trainer.Run(batch);
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        using var probe = torch.zeros(1);   // the counter does see a tensor that stays alive
        Assert.Equal(before + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Should_throw_naming_the_field_when_a_batch_is_inconsistent()
    {
        using var model = new ClipModel(ClipConfig.Micro);
        using var trainer = new TrainStep(model, new TrainOptions(), SingleRankGatherer.Instance);
        var batch = MicroBatch() with { Tokens = new long[3] };

        var error = Assert.Throws<ArgumentException>(() => trainer.Run(batch));
        Assert.Contains("Tokens", error.Message);
    }
}
