using MmCluster.Collectives;
using MmCluster.Collectives.InProcess;
using MmCluster.Collectives.Tests.Ring;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Tests.Loss;
using MmCluster.Worker.Training;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>
/// BLIP-2's ITC distributed over W in-process ranks (each b pairs, features gathered with gradient, gradients averaged)
/// versus one process on the global batch: every trainable parameter's gradient (Q-Former, projections, ln_vision, temp)
/// agrees to 1e-5 relative on every rank, as for CLIP.
/// </summary>
public sealed class Blip2ItcGradientEquivalenceSpecs
{
    private const int LocalBatch = 3;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Should_match_one_process_gradients_on_every_rank_when_ranks_gather_in_process(int world)
    {
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        AssertEquivalentOver(groups, world * LocalBatch, "in process");
        await GradientEquivalence.DisposeAll(groups);
    }

    [Fact]
    public async Task Should_match_one_process_gradients_on_every_rank_when_W_does_not_divide_the_global_batch()
    {
        // B = 7 over 3 ranks splits 3/2/2: padded gather, offsets 0/3/5, losses weighted 9/7, 6/7, 6/7.
        var groups = InProcessCollectiveGroup.Create(3, TimeSpan.FromSeconds(30));
        AssertEquivalentOver(groups, 7, "in process, uneven");
        await GradientEquivalence.DisposeAll(groups);
    }

    [Fact]
    public async Task Should_match_one_process_gradients_on_every_rank_when_ranks_talk_over_grpc()
    {
        await using var ring = await LoopbackRing.StartAsync(2, deadline: TimeSpan.FromSeconds(20));
        AssertEquivalentOver(ring.Groups, 2 * LocalBatch, "over gRPC");
    }

    [Fact]
    public async Task Should_step_all_three_losses_identically_on_both_ranks_when_itm_negatives_cross_ranks()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var batch = Blip2Fixtures.Batch(2 * LocalBatch);
        var first = Blip2Fixtures.NewStage1();
        var models = new[] { first, Blip2Fixtures.Replicate(first, Blip2Fixtures.NewStage1()) };
        var results = RankThreads.Run(2, rank =>
        {
            using var averager = new GradientAverager(groups[rank]);
            using var step = new Blip2Stage1Step(models[rank], new TrainOptions { TotalSteps = 4 }, new CollectiveFeatureGatherer(groups[rank]), averager);
            var local = Blip2Fixtures.Slice(batch, rank * LocalBatch, LocalBatch);
            return new[] { step.Run(local), step.Run(local) };
        });

        Assert.All(results.SelectMany(r => r), r => Assert.All(r.Losses.Values, v => Assert.True(float.IsFinite(v) && v > 0)));
        var (a, b) = (Blip2Fixtures.Snapshot(models[0]), Blip2Fixtures.Snapshot(models[1]));
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));   // averaged gradients: the replicas stay identical
        foreach (var model in models)
        {
            model.Dispose();
        }
        foreach (var group in groups)
        {
            await group.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(1.0, 1.0)]   // LAVIS's ITM
    [InlineData(2.0, 0.0)]   // the example schedule's: positives weighted 2, negatives from any other class
    public async Task Should_step_all_three_losses_identically_on_every_rank_when_W_does_not_divide_the_global_batch(double itmPositiveWeight, double itmNegativeSharpness)
    {
        const int world = 3;
        const int globalBatch = 7;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var batch = Blip2Fixtures.Batch(globalBatch);
        var config = Blip2Fixtures.QFormer with { ItmPositiveWeight = itmPositiveWeight, ItmNegativeSharpness = itmNegativeSharpness };
        var first = Blip2Fixtures.NewStage1(qformer: config);
        var models = new[] { first, Blip2Fixtures.Replicate(first, Blip2Fixtures.NewStage1(qformer: config)), Blip2Fixtures.Replicate(first, Blip2Fixtures.NewStage1(qformer: config)) };
        var results = RankThreads.Run(world, rank =>
        {
            using var averager = new GradientAverager(groups[rank]);
            using var step = new Blip2Stage1Step(models[rank], new TrainOptions { TotalSteps = 4 }, new CollectiveFeatureGatherer(groups[rank], globalBatch), averager);
            var local = Blip2Fixtures.Slice(batch, BatchSplit.Offset(globalBatch, world, rank), BatchSplit.Rows(globalBatch, world, rank));
            return step.Run(local);
        });

        Assert.All(results, r => Assert.All(r.Losses.Values, v => Assert.True(float.IsFinite(v) && v > 0)));
        var snapshots = models.Select(Blip2Fixtures.Snapshot).ToArray();
        Assert.All(snapshots[1..], other => Assert.All(snapshots[0], kv => Assert.Equal(kv.Value, other[kv.Key])));
        foreach (var model in models)
        {
            model.Dispose();
        }
        await GradientEquivalence.DisposeAll(groups);
    }

    private static void AssertEquivalentOver(IReadOnlyList<ICollectiveGroup> groups, int globalBatch, string how)
    {
        var world = groups.Count;
        var batch = Blip2Fixtures.Batch(globalBatch);
        using var single = NewModel();
        var reference = Gradients(single, batch, SingleRankGatherer.Instance, averager: null);
        var models = Enumerable.Range(0, world).Select(_ => Blip2Fixtures.Replicate(single, NewModel())).ToArray();
        var ranks = RankThreads.Run(world, rank =>
        {
            using var averager = new GradientAverager(groups[rank]);
            var local = Blip2Fixtures.Slice(batch, BatchSplit.Offset(globalBatch, world, rank), BatchSplit.Rows(globalBatch, world, rank));
            return Gradients(models[rank], local, new CollectiveFeatureGatherer(groups[rank], globalBatch), averager);
        });
        foreach (var model in models)
        {
            model.Dispose();
        }

        for (var rank = 0; rank < world; rank++)
        {
            GradientEquivalence.AssertEquivalent(Meaningful(reference), Meaningful(ranks[rank]), $"BLIP-2 ITC {how} B={globalBatch} W={world} rank {rank}");
            Assert.All(ranks[rank].Where(IsKeyBias), p => Assert.True(Norm(p.Gradient) < 1e-5, $"{p.Name}: {Norm(p.Gradient):E2}"));
        }
    }

    /// <summary>
    /// A key bias adds the same q·b to every score of a row, which softmax ignores: its true gradient is 0 and what
    /// autograd returns is float32 noise (~1e-8), so it is checked to be near zero rather than relative to the reference.
    /// </summary>
    private static bool IsKeyBias((string Name, double[] Gradient) p) => p.Name.EndsWith("key.bias", StringComparison.Ordinal);

    private static IReadOnlyList<(string Name, double[] Gradient)> Meaningful(IReadOnlyList<(string Name, double[] Gradient)> gradients) =>
        [.. gradients.Where(p => !IsKeyBias(p))];

    private static double Norm(double[] values) => Math.Sqrt(values.Sum(v => v * v));

    private static Blip2Stage1Model NewModel()
    {
        var model = Blip2Fixtures.NewStage1();
        FrozenParameters.Apply(model, [Blip2Base.VisualEncoder]);
        using var _ = no_grad();
        foreach (var parameter in model.parameters().Where(p => p.dim() >= 2))
        {
            // BERT's N(0, 0.02) makes every pair look alike at init, and ITC's gradient a float32 cancellation;
            // fan-in scaled weights give distinct features, so the comparison measures the distribution, not rounding.
            parameter.normal_(0, 1 / Math.Sqrt(parameter.shape[^1]));
        }
        return model;
    }

    /// <summary>Every trainable parameter's gradient; zeros where ITC gives none (the ITM and ITG heads).</summary>
    private static IReadOnlyList<(string Name, double[] Gradient)> Gradients(
        Blip2Stage1Model model, ClipBatch batch, IFeatureGatherer gatherer, GradientAverager? averager)
    {
        using var scope = NewDisposeScope();
        var (images, captions) = Blip2Fixtures.Tensors(batch);
        var loss = Blip2Stage1Loss.ComputeItc(model, images, captions, gatherer);
        LossWeighting.Weigh(loss, gatherer, batch.Count).backward();
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        averager?.AverageGradients([.. trainable.Select(p => p.parameter)]);
        Assert.NotEmpty(trainable);
        Assert.Contains(trainable, p => p.name.StartsWith("qformer.query_tokens", StringComparison.Ordinal) && p.parameter.grad is not null);
        return [.. trainable.Select(p => (p.name, p.parameter.grad is null
            ? new double[p.parameter.numel()]
            : p.parameter.grad.to_type(ScalarType.Float64).data<double>().ToArray()))];
    }
}
