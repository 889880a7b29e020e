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
        var errors = reference.Select((p, i) => (p.Name, Error: RelativeError(p.Gradient, actual[i].Gradient), Norm: Math.Sqrt(p.Gradient.Sum(g => g * g)))).ToList();
        var off = errors.Where(e => !(e.Error <= RelativeTolerance)).ToList();
        // Every parameter's figure when one is off: one tensor off points at its own path, all of them at something global.
        Assert.True(off.Count == 0, $"{who}: {off.Count} of {errors.Count} gradients differ from the one-process reference by more than " +
            $"{RelativeTolerance:E0} relative: {string.Join("; ", off.Select(e => $"{e.Name} {e.Error:E2} (|g| {e.Norm:E2})"))}. " +
            $"All: {string.Join("; ", errors.Select(e => $"{e.Name} {e.Error:E1}"))}");
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
