using MmCluster.Collectives;
using MmCluster.Worker.Distributed;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Loss;

/// <summary>
/// The heart of issue 3: the reference computes the loss on the global batch of W·b in one process and backpropagates;
/// the distributed run gives each of W identical replicas its own b rows, runs the loss with the distributed gatherer or
/// ring on its own thread, backpropagates and averages gradients over ranks. Both must give the same parameter gradients.
/// </summary>
internal static class GradientEquivalence
{
    public const long ModelSeed = 20240611;
    public const double RelativeTolerance = 1e-5;

    /// <summary>Deterministic (N, 12) images and (N, 10) texts.</summary>
    public static (Tensor Images, Tensor Texts) Batch(int n, long seed = 7)
    {
        var generator = new Generator((ulong)seed);
        return (randn([n, TinyTwoTower.ImageInputs], generator: generator), randn([n, TinyTwoTower.TextInputs], generator: generator));
    }

    public static IReadOnlyList<(string Name, double[] Gradient)> Reference(ContrastiveSetup setup, Tensor images, Tensor texts)
    {
        using var model = setup.NewModel(ModelSeed);
        using var scope = NewDisposeScope();
        var loss = setup.Create(null);
        var (image, text) = model.forward(images, texts);
        using var value = loss.Compute(model, image, text);
        value.backward();
        return model.Gradients();
    }

    /// <summary>Every rank's averaged gradients; <paramref name="createLoss"/> builds rank r's loss from its group.</summary>
    public static IReadOnlyList<(string Name, double[] Gradient)>[] Distributed(
        IReadOnlyList<ICollectiveGroup> groups, Func<ICollectiveGroup, IRankLoss> createLoss, Tensor images, Tensor texts, ContrastiveSetup setup)
    {
        var world = groups.Count;
        var b = images.shape[0] / world;
        var models = Enumerable.Range(0, world).Select(_ => setup.NewModel(ModelSeed)).ToArray();
        try
        {
            return RankThreads.Run(world, rank =>
            {
                var group = groups[rank];
                var model = models[rank];
                var loss = createLoss(group);
                using var averager = new GradientAverager(group, model.parameters());
                using var myImages = images.narrow(0, rank * b, b);
                using var myTexts = texts.narrow(0, rank * b, b);
                Step(model, loss, averager, myImages, myTexts);
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

    /// <summary>One training step as the trainer runs it, minus the optimizer: forward, loss, backward, check, average.</summary>
    public static void Step(TinyTwoTower model, IRankLoss loss, GradientAverager averager, Tensor images, Tensor texts)
    {
        using var scope = NewDisposeScope();
        model.zero_grad();
        var (image, text) = model.forward(images, texts);
        var value = loss.Compute(model, image, text);
        value.backward();
        loss.ThrowIfBackwardFailed();
        averager.Average();
    }

    /// <summary>Per tensor: |g - g_ref| ≤ tolerance · |g_ref| (L2 norms), for every parameter.</summary>
    public static void AssertEquivalent(IReadOnlyList<(string Name, double[] Gradient)> reference, IReadOnlyList<(string Name, double[] Gradient)> actual, string who)
    {
        Assert.Equal(reference.Select(p => p.Name), actual.Select(p => p.Name));
        for (var i = 0; i < reference.Count; i++)
        {
            var (name, expected) = reference[i];
            var error = RelativeError(expected, actual[i].Gradient);
            Assert.True(error <= RelativeTolerance, $"{who}: gradient of {name} differs from the one-process reference by {error:E2} relative (tolerance {RelativeTolerance:E0})");
        }
    }

    public static async Task DisposeAll(IEnumerable<ICollectiveGroup> groups)
    {
        foreach (var group in groups)
        {
            await group.DisposeAsync();
        }
    }

    public static double RelativeError(double[] expected, double[] actual)
    {
        var difference = Math.Sqrt(expected.Zip(actual, (e, a) => (e - a) * (e - a)).Sum());
        var norm = Math.Sqrt(expected.Sum(e => e * e));
        return norm == 0 ? difference : difference / norm;
    }
}
