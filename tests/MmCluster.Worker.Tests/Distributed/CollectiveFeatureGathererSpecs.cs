using MmCluster.Collectives;
using MmCluster.Collectives.InProcess;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Tests.Loss;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Distributed;

public sealed class CollectiveFeatureGathererSpecs
{
    private const int Rows = 2;
    private const int Columns = 3;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Should_gather_rows_in_rank_order_and_reduce_scatter_a_transposed_gradient_when_backward(int world)
    {
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var results = RankThreads.Run(world, rank =>
        {
            using var scope = NewDisposeScope();
            var gatherer = new CollectiveFeatureGatherer(groups[rank]);
            var local = Block(rank).requires_grad_();
            var gathered = gatherer.AllGather(local);                     // (W·2, 3)
            // The loss reads the gathered tensor through a transpose, so its gradient arrives non-contiguous (pytorch#120386).
            var weights = Weights(rank, world).t();                       // (3, W·2)
            var loss = (gathered.t() * weights).sum();
            loss.backward();
            gatherer.ThrowIfBackwardFailed();
            return (Gathered: Values(gathered), Gradient: Values(local.grad!));
        });

        var expectedGathered = Enumerable.Range(0, world).SelectMany(r => Values(Block(r))).ToArray();
        for (var rank = 0; rank < world; rank++)
        {
            Assert.Equal(expectedGathered, results[rank].Gathered);

            // ∂(Σ_s L_s)/∂x_rank = Σ_s (rows of s's weights that multiplied rank's block).
            var expectedGradient = new double[Rows * Columns];
            for (var s = 0; s < world; s++)
            {
                using var own = Weights(s, world).narrow(0, rank * Rows, Rows);
                var values = Values(own);
                for (var i = 0; i < values.Length; i++)
                {
                    expectedGradient[i] += values[i];
                }
            }

            Assert.Equal(expectedGradient, results[rank].Gradient);
        }
    }

    [Fact]
    public void Should_keep_float64_dtype_when_features_are_double()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var dtypes = RankThreads.Run(2, rank =>
        {
            using var scope = NewDisposeScope();
            var gatherer = new CollectiveFeatureGatherer(groups[rank]);
            var local = Block(rank).to_type(ScalarType.Float64).requires_grad_();
            var gathered = gatherer.AllGather(local);
            gathered.sum().backward();
            return (gathered.dtype, local.grad!.dtype, Values(local.grad!)[0]);
        });

        Assert.All(dtypes, d => Assert.Equal((ScalarType.Float64, ScalarType.Float64, 2.0), d));
    }

    [Fact]
    public void Should_throw_after_backward_naming_the_peer_instead_of_crashing_when_a_peer_leaves_mid_step()
    {
        var groups = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(30));
        var errors = RankThreads.Run(2, rank =>
        {
            using var scope = NewDisposeScope();
            var gatherer = new CollectiveFeatureGatherer(groups[rank]);
            var local = Block(rank).requires_grad_();
            var gathered = gatherer.AllGather(local);
            if (rank == 1)
            {
                groups[1].DisposeAsync().AsTask().Wait();              // dies between forward and backward
                return null;
            }

            gathered.sum().backward();                                 // must not throw through libtorch's native frames
            Assert.Equal(new double[Rows * Columns], Values(local.grad!));
            return Record.Exception(gatherer.ThrowIfBackwardFailed);
        });

        var error = Assert.IsType<CollectiveException>(errors[0]);
        Assert.Equal(1, error.PeerRank);
        Assert.Contains("rank 1 left", error.Message);
    }

    [Fact]
    public async Task Should_reduce_scatter_again_in_the_next_generation_when_the_previous_one_failed_in_backward()
    {
        // Generation 1: rank 1 dies between forward and backward, so rank 0's backward records a failure. A recovery
        // puts generation 2's group under the same TimedCollectiveGroup; rank 0 keeps its gatherer, rank 1 (the
        // replacement) builds a new one. Both must run generation 2's reduce-scatter: a survivor that still saw the old
        // failure would skip it and call its next collective while the replacement waits in this one.
        var first = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(5));
        var survivor = new TimedCollectiveGroup(first[0]);
        var kept = new CollectiveFeatureGatherer(survivor);
        var failed = RankThreads.Run(2, rank =>
        {
            using var scope = NewDisposeScope();
            var gatherer = rank == 0 ? kept : new CollectiveFeatureGatherer(first[1]);
            var gathered = gatherer.AllGather(Block(rank).requires_grad_());
            if (rank == 1)
            {
                first[1].DisposeAsync().AsTask().Wait();
                return null;
            }
            gathered.sum().backward();
            return Record.Exception(gatherer.ThrowIfBackwardFailed);
        });
        Assert.IsType<CollectiveException>(failed[0]);

        var second = InProcessCollectiveGroup.Create(2, TimeSpan.FromSeconds(5));
        await survivor.Replace(second[0]).DisposeAsync();
        var replacement = new TimedCollectiveGroup(second[1]);
        var gradients = RankThreads.Run(2, rank =>
        {
            using var scope = NewDisposeScope();
            var gatherer = rank == 0 ? kept : new CollectiveFeatureGatherer(replacement);
            var local = Block(rank).requires_grad_();
            var gathered = gatherer.AllGather(local);
            (gathered * (rank + 1f)).sum().backward();
            gatherer.ThrowIfBackwardFailed();
            return Values(local.grad!);
        });

        Assert.All(gradients, g => Assert.All(g, x => Assert.Equal(1.0 + 2.0, x)));   // Σ_s (s + 1) on every row
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(3, false)]
    public void Should_receive_the_neighbour_block_and_send_its_gradient_back_when_exchanging(int world, bool forward)
    {
        var groups = InProcessCollectiveGroup.Create(world, TimeSpan.FromSeconds(30));
        var results = RankThreads.Run(world, rank =>
        {
            using var scope = NewDisposeScope();
            var ring = new CollectiveRingExchanger(groups[rank]);
            var local = Block(rank).requires_grad_();
            var received = ring.Exchange(local, forward);
            var loss = (received * (rank + 1.0)).sum();
            loss.backward();
            ring.ThrowIfBackwardFailed();
            return (Received: Values(received), Gradient: Values(local.grad!));
        });

        for (var rank = 0; rank < world; rank++)
        {
            var from = forward ? (rank - 1 + world) % world : (rank + 1) % world;
            var to = forward ? (rank + 1) % world : (rank - 1 + world) % world;
            Assert.Equal(Values(Block(from)), results[rank].Received);
            Assert.All(results[rank].Gradient, g => Assert.Equal(to + 1.0, g));
        }
    }

    private static Tensor Block(int rank) => arange(Rows * Columns, dtype: ScalarType.Float32).reshape(Rows, Columns) + rank * 10f;

    private static Tensor Weights(int rank, int world) => arange(world * Rows * Columns, dtype: ScalarType.Float32).reshape(world * Rows, Columns) * (rank + 1f);

    private static double[] Values(Tensor t)
    {
        using var d = t.detach().to_type(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }
}
