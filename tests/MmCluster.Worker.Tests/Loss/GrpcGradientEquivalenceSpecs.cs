using System.Diagnostics;
using MmCluster.Collectives;
using MmCluster.Collectives.Ring;
using MmCluster.Collectives.Tests.Ring;
using MmCluster.Worker.Distributed;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Loss;

/// <summary>
/// The gradient-equivalence check of <see cref="GradientEquivalenceSpecs"/> over the real transport: W Kestrel collective
/// servers on loopback, one <c>GrpcCollectiveGroup</c> per rank, every collective of the step (all-gather and its
/// reduce-scatter backward, ring exchanges both ways, bucketed all-reduce of the gradients) crossing gRPC (payloads inline,
/// in same-host rings, or on bulk TCP lanes).
/// </summary>
public sealed class GrpcGradientEquivalenceSpecs
{
    private const int LocalBatch = 3;

    [Theory]
    [InlineData("clip", 2, CollectiveTransport.Grpc)]
    [InlineData("clip", 3, CollectiveTransport.Grpc)]
    [InlineData("clip", 4, CollectiveTransport.Grpc)]
    [InlineData("siglip", 2, CollectiveTransport.Grpc)]
    [InlineData("siglip", 3, CollectiveTransport.Grpc)]
    [InlineData("siglip", 4, CollectiveTransport.Grpc)]
    [InlineData("clip", 3, CollectiveTransport.Auto)]
    [InlineData("siglip", 3, CollectiveTransport.Auto)]
    [InlineData("clip", 2, CollectiveTransport.Tcp)]
    [InlineData("clip", 3, CollectiveTransport.Tcp)]
    [InlineData("clip", 4, CollectiveTransport.Tcp)]
    [InlineData("siglip", 2, CollectiveTransport.Tcp)]
    [InlineData("siglip", 3, CollectiveTransport.Tcp)]
    [InlineData("siglip", 4, CollectiveTransport.Tcp)]
    public async Task Should_match_one_process_gradients_on_every_rank_when_ranks_talk_over_grpc(string loss, int world, CollectiveTransport transport)
    {
        var setup = ContrastiveSetup.ByName(loss);
        await using var ring = await LoopbackRing.StartAsync(world, deadline: TimeSpan.FromSeconds(20), transport: transport);
        var (images, texts) = GradientEquivalence.Batch(world * LocalBatch);
        using (images)
        using (texts)
        {
            var reference = GradientEquivalence.Reference(setup, images, texts);
            var ranks = GradientEquivalence.Distributed(ring.Groups, g => setup.Create(g), images, texts, setup);

            for (var rank = 0; rank < world; rank++)
            {
                GradientEquivalence.AssertEquivalent(reference, ranks[rank], $"{loss} over gRPC W={world} rank {rank}");
            }
            ring.AssertTransport();
        }
    }

    [Fact]
    public async Task Should_throw_after_backward_naming_the_peer_when_a_peer_dies_between_forward_and_backward()
    {
        var deadline = TimeSpan.FromSeconds(2);
        await using var ring = await LoopbackRing.StartAsync(2, deadline: deadline);
        var clock = Stopwatch.StartNew();
        var errors = RankThreads.Run(2, rank =>
        {
            using var scope = NewDisposeScope();
            var gatherer = new CollectiveFeatureGatherer(ring.Groups[rank]);
            var local = ones(LocalBatch, 4).requires_grad_();
            if (rank == 1)
            {
                gatherer.AllGather(local);
                ring.Groups[1].DisposeAsync().AsTask().Wait();         // the peer dies after the forward all-gather
                return null;
            }

            // Usually the reduce-scatter of backward fails (backward itself must not throw) and ThrowIfBackwardFailed reports it;
            // under load rank 1 may leave before rank 0's own all-gather has finished, and then the forward fails instead.
            return Record.Exception(() =>
            {
                var gathered = gatherer.AllGather(local);
                gathered.sum().backward();
                gatherer.ThrowIfBackwardFailed();
            });
        });

        var error = Assert.IsType<CollectiveException>(errors[0] is AggregateException { InnerExceptions.Count: 1 } single ? single.InnerException : errors[0]);
        Assert.Equal(1, error.PeerRank);
        Assert.Contains("rank 1 (", error.Message);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, deadline + TimeSpan.FromSeconds(5));
    }
}
