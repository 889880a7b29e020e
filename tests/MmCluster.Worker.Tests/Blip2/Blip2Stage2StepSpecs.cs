using MmCluster.Collectives.InProcess;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Tests.Loss;
using MmCluster.Worker.Training;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

public sealed class Blip2Stage2StepSpecs
{
    private static readonly TrainOptions Options = new() { LearningRate = 1e-2, TotalSteps = 10, WeightDecay = 0.05 };

    [Fact]
    public void Should_leave_frozen_parameters_bit_for_bit_unchanged_when_stage_two_steps_run()
    {
        using var model = Blip2Fixtures.NewStage2();
        var before = Blip2Fixtures.Snapshot(model);
        using var step = new Blip2Stage2Step(model, Options);
        var batch = Blip2Fixtures.Batch(4);

        step.Run(batch);
        step.Run(batch);

        var after = Blip2Fixtures.Snapshot(model);
        var frozen = model.named_parameters().Where(p => !p.parameter.requires_grad).Select(p => p.name).ToArray();
        Assert.Contains(frozen, n => n.StartsWith("visual.", StringComparison.Ordinal));
        Assert.Contains(frozen, n => n.StartsWith("lm.", StringComparison.Ordinal));
        foreach (var name in frozen)
        {
            Assert.True(before[name].AsSpan().SequenceEqual(after[name]), $"frozen {name} changed");
            Assert.Null(model.get_parameter(name)!.grad);
        }
        Assert.Contains(model.named_parameters(), p => p.name == "llm_proj.weight" && !before[p.name].AsSpan().SequenceEqual(after[p.name]));
        Assert.Contains(model.named_parameters(), p => p.name == "qformer.query_tokens" && !before[p.name].AsSpan().SequenceEqual(after[p.name]));
    }

    [Fact]
    public void Should_average_only_trainable_gradients_when_two_ranks_run_stage_two()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var first = Blip2Fixtures.NewStage2();
        var models = new[] { first, Blip2Fixtures.Replicate(first, Blip2Fixtures.NewStage2()) };
        var batch = Blip2Fixtures.Batch(4);
        var counts = RankThreads.Run(2, rank =>
        {
            using var averager = new GradientAverager(groups[rank]);
            using var step = new Blip2Stage2Step(models[rank], Options, averager);
            step.Run(Blip2Fixtures.Slice(batch, rank * 2, 2));
            return (averager.ParameterCount, Trainable: models[rank].parameters().Count(p => p.requires_grad));
        });

        Assert.All(counts, c => Assert.Equal(c.Trainable, c.ParameterCount));
        Assert.Equal(Blip2Fixtures.Snapshot(models[0])["llm_proj.weight"], Blip2Fixtures.Snapshot(models[1])["llm_proj.weight"]);
        foreach (var model in models)
        {
            model.Dispose();
        }
    }

    [Fact]
    public void Should_mask_query_positions_when_building_the_caption_labels()
    {
        using var scope = NewDisposeScope();
        var rows = tensor(new long[] { 5, 6, 63, 0, 0 }, [1, 5]);
        var inputs = MmCluster.Worker.Model.Lm.CaptionTargets.Inputs(rows, 63);
        var labels = MmCluster.Worker.Model.Lm.CaptionTargets.WithIgnoredPrefix(MmCluster.Worker.Model.Lm.CaptionTargets.Labels(rows, 63, promptTokens: 1), 2);

        Assert.Equal(new long[] { 63, 5, 6, 63, 0 }, inputs.data<long>().ToArray());
        Assert.Equal(new long[] { -100, -100, -100, 6, 63, -100, -100 }, labels.data<long>().ToArray());
    }
}
