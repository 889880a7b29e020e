using MmCluster.Worker.Tests.Collectives;
using Xunit;

namespace MmCluster.Worker.Tests.Loss;

/// <summary>
/// The gradient-equivalence check of <see cref="GradientEquivalenceSpecs"/> over the real transport: W Kestrel collective
/// servers on loopback, one <c>GrpcCollectiveGroup</c> per rank, every collective of the step (all-gather and its
/// reduce-scatter backward, ring exchanges both ways, bucketed all-reduce of the gradients) crossing gRPC.
/// </summary>
public sealed class GrpcGradientEquivalenceSpecs
{
    private const int LocalBatch = 3;

    [Theory]
    [InlineData("clip", 2)]
    [InlineData("clip", 3)]
    [InlineData("clip", 4)]
    [InlineData("siglip", 2)]
    [InlineData("siglip", 3)]
    [InlineData("siglip", 4)]
    public async Task Should_match_one_process_gradients_on_every_rank_when_ranks_talk_over_grpc(string loss, int world)
    {
        var setup = ContrastiveSetup.ByName(loss);
        await using var ring = await LoopbackRing.StartAsync(world, deadline: TimeSpan.FromSeconds(20));
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
        }
    }
}
