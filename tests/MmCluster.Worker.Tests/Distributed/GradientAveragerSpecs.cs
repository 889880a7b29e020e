using MmCluster.Collectives;
using MmCluster.Collectives.InProcess;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Tests.Loss;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Distributed;

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
    public void Should_leave_the_same_bf16_rounded_mean_on_every_rank_when_gradients_travel_as_bf16()
    {
        const int world = 2;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var results = RankThreads.Run(world, rank =>
        {
            using var weight = (randn(64, generator: new Generator(7 + (ulong)rank)) * 0.1f).requires_grad_();
            weight.grad = randn(64, generator: new Generator(100 + (ulong)rank));
            var before = Values(weight.grad!);
            using var averager = new GradientAverager(groups[rank], [weight], wire: WirePrecision.BFloat16);
            averager.Average();
            return (Before: before, After: Values(weight.grad!));
        });

        Assert.Equal(results[0].After, results[1].After);
        for (var i = 0; i < 64; i++)
        {
            var exact = (results[0].Before[i] + results[1].Before[i]) / world;
            var bf16Mean = (BFloat16Bits.Round((float)results[0].Before[i]) + BFloat16Bits.Round((float)results[1].Before[i])) / world;
            Assert.Equal(BFloat16Bits.Round((float)bf16Mean), (float)results[0].After[i]);
            Assert.True(Math.Abs(results[0].After[i] - exact) <= Math.Pow(2, -7) * (Math.Abs(results[0].Before[i]) + Math.Abs(results[1].Before[i])),
                $"element {i}: {results[0].After[i]}, exact mean {exact}");
        }
    }

    [Fact]
    public void Should_equal_the_scanned_rows_mean_when_the_step_names_the_ids_it_looked_up()
    {
        const int world = 2;
        const int rows = (int)GradientAverager.RowSparseMinRows + 3;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var touched = new[] { new long[] { 1, 2 }, new long[] { 2, rows - 1 } };
        var lookedUp = new[] { new long[] { 2, 1, 1, 7 }, new long[] { rows - 1, 2, 0 } };   // repeats, and ids whose rows got no gradient
        var results = RankThreads.Run(world, rank =>
        {
            using var hinted = TableWithGradient(rows, touched[rank], rank);
            using var scanned = TableWithGradient(rows, touched[rank], rank);
            using var ids = tensor(lookedUp[rank]);
            using var hintedAverager = new GradientAverager(groups[rank]);
            hintedAverager.AverageGradients([hinted], [new TouchedRows(hinted, ids)]);
            using var scannedAverager = new GradientAverager(groups[rank]);
            scannedAverager.AverageGradients([scanned]);
            return (Hinted: Values(hinted.grad!), Scanned: Values(scanned.grad!));
        });

        foreach (var (hinted, scanned) in results)
        {
            Assert.Equal(scanned, hinted);
            Assert.Contains(hinted, v => v != 0);
        }
    }

    [Fact]
    public void Should_refuse_the_hint_naming_the_row_when_a_row_outside_the_looked_up_ids_has_a_gradient()
    {
        const int world = 2;
        const int rows = (int)GradientAverager.RowSparseMinRows + 3;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var messages = RankThreads.Run(world, rank =>
        {
            using var table = TableWithGradient(rows, [5, 9], rank);
            using var ids = tensor(new long[] { 5 });                     // row 9 has a gradient but is not named
            using var averager = new GradientAverager(groups[rank]);
            return Assert.Throws<InvalidOperationException>(() => averager.AverageGradients([table], [new TouchedRows(table, ids)])).Message;
        });

        Assert.All(messages, m => Assert.Contains("row 9", m));
    }

    private static TorchSharp.Modules.Parameter TableWithGradient(int rows, long[] touched, int rank)
    {
        var table = new TorchSharp.Modules.Parameter(zeros(rows, 3));
        var grad = zeros(rows, 3);
        foreach (var row in touched)
        {
            grad[row] = full(3, (float)(row + 10 * rank));
        }
        table.grad = grad;
        return table;
    }

    [Fact]
    public void Should_equal_the_dense_mean_when_an_embedding_table_is_averaged_row_sparsely()
    {
        const int world = 2;
        const int rows = (int)GradientAverager.RowSparseMinRows + 3;
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var touched = new[] { new[] { 1, 2 }, new[] { 2, rows - 1 } };               // row 2 is touched by both ranks
        var results = RankThreads.Run(world, rank =>
        {
            using var table = zeros(rows, 3).requires_grad_();
            using var other = zeros(4).requires_grad_();
            var grad = zeros(rows, 3);
            foreach (var row in touched[rank])
            {
                grad[row] = full(3, (float)(row + 10 * rank));
            }
            table.grad = grad;
            other.grad = full(4, (float)rank);
            using var averager = new GradientAverager(groups[rank], [table, other]);
            averager.Average();
            return (Table: Values(table.grad!), Other: Values(other.grad!));
        });

        var expected = new double[rows * 3];
        for (var rank = 0; rank < world; rank++)
        {
            foreach (var row in touched[rank])
            {
                for (var j = 0; j < 3; j++)
                {
                    expected[row * 3 + j] += (row + 10.0 * rank) / world;
                }
            }
        }
        foreach (var (table, other) in results)
        {
            Assert.Equal(expected, table);
            Assert.Equal(Enumerable.Repeat(0.5, 4), other);
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

    [Fact]
    public void Should_plan_buckets_at_first_call_and_refuse_other_parameters_when_used_as_the_train_step_hook()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var results = RankThreads.Run(2, rank =>
        {
            using var weight = nn.Parameter(zeros(3));
            using var other = nn.Parameter(zeros(3));
            weight.grad = full(3, rank * 2f);
            IGradientAverager averager = new GradientAverager(groups[rank]);
            averager.AverageGradients([weight]);
            var refused = Record.Exception(() => averager.AverageGradients([other]));
            return (Values(weight.grad!), refused);
        });

        Assert.All(results, r => Assert.Equal([1.0, 1.0, 1.0], r.Item1));
        Assert.All(results, r => Assert.IsType<ArgumentException>(r.refused));
    }

    [Fact]
    public void Should_rethrow_the_backward_failure_naming_the_peer_when_averaging_after_a_failed_backward()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var errors = RankThreads.Run(2, rank =>
        {
            using var scope = NewDisposeScope();
            var weight = nn.Parameter(ones(2, 2));
            var gathered = new CollectiveFeatureGatherer(groups[rank]).AllGather(weight);
            if (rank == 1)
            {
                groups[1].DisposeAsync().AsTask().Wait();
                return null;
            }

            gathered.sum().backward();                                   // the trainer forgot ThrowIfBackwardFailed
            return Record.Exception(() => new GradientAverager(groups[0]).AverageGradients([weight]));
        });

        var error = Assert.IsType<CollectiveException>(errors[0]);
        Assert.Equal(1, error.PeerRank);
        Assert.Contains("backward pass", error.Message);
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
