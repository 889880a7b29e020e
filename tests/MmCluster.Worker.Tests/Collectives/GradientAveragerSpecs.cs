using MmCluster.Shared.Collectives;
using MmCluster.Worker.Collectives;
using MmCluster.Worker.Tests.Loss;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Collectives;

public sealed class GradientAveragerSpecs
{
    [Theory]
    [InlineData(GradientAverager.DefaultBucketBytes, 1)]
    [InlineData(16, 3)]
    public void Should_leave_the_mean_gradient_on_every_rank_when_parameters_span_buckets(long bucketBytes, int expectedBuckets)
    {
        const int world = 3;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var results = RankThreads.Run(world, rank =>
        {
            using var parameters = new Parameters(rank);
            using var averager = new GradientAverager(groups[rank], parameters.All, bucketBytes);
            averager.Average();
            return (averager.BucketCount, Matrix: Values(parameters.Matrix.grad!), Vector: Values(parameters.Vector.grad!), Scale: Values(parameters.Scale.grad!));
        });

        foreach (var (buckets, matrix, vector, scale) in results)
        {
            Assert.Equal(expectedBuckets, buckets);
            Assert.Equal(Enumerable.Range(0, 6).Select(i => i + 1.0), matrix);   // mean over ranks of (i + rank)
            Assert.Equal(Enumerable.Repeat(-1.0, 5), vector);                     // mean of -rank
            Assert.Equal([2.0], scale);                                           // mean of 1, 2, 3
        }
    }

    [Fact]
    public void Should_skip_frozen_parameters_and_fill_missing_gradients_with_zeros_when_averaging()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var results = RankThreads.Run(2, rank =>
        {
            using var trained = full(2, 1.0f).requires_grad_();
            using var frozen = full(2, 1.0f);
            if (rank == 1)
            {
                trained.grad = full(2, 4.0f);                            // rank 0 never touched this parameter
            }

            using var averager = new GradientAverager(groups[rank], [frozen, trained]);
            averager.Average();
            return (averager.ParameterCount, Trained: Values(trained.grad!), FrozenHasGradient: frozen.grad is not null);
        });

        foreach (var (parameterCount, trained, frozenHasGradient) in results)
        {
            Assert.Equal(1, parameterCount);
            Assert.Equal([2.0, 2.0], trained);
            Assert.False(frozenHasGradient);
        }
    }

    private static double[] Values(Tensor t)
    {
        using var d = t.to_type(ScalarType.Float64);
        return d.data<double>().ToArray();
    }

    /// <summary>Three trainable parameters whose gradients depend on the rank; the scalar stands for the logit scale.</summary>
    private sealed class Parameters : IDisposable
    {
        public Parameters(int rank)
        {
            Matrix = zeros(2, 3).requires_grad_();
            Vector = zeros(5).requires_grad_();
            Scale = zeros(1).requires_grad_();
            Matrix.grad = arange(6, dtype: ScalarType.Float32).reshape(2, 3) + rank;
            Vector.grad = full(5, -(float)rank);
            Scale.grad = full(1, rank == 0 ? 1f : rank == 1 ? 2f : 3f);
        }

        public Tensor Matrix { get; }

        public Tensor Vector { get; }

        public Tensor Scale { get; }

        public Tensor[] All => [Matrix, Vector, Scale];

        public void Dispose()
        {
            Matrix.Dispose();
            Vector.Dispose();
            Scale.Dispose();
        }
    }
}
