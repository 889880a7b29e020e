using MmCluster.Worker.Model.Loss;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

public sealed class HardNegativeSamplerSpecs
{
    [Fact]
    public void Should_never_pick_the_positive_when_the_positive_dominates_the_similarity_over_many_seeds()
    {
        using var scope = NewDisposeScope();
        const int b = 3;
        const int world = 2;
        for (var rank = 0; rank < world; rank++)
        {
            // The positive is 50 logits above everything else: LAVIS's -10000 fill alone would still leave it ~0, here exactly 0.
            var similarity = randn(b, world * b);
            for (var i = 0; i < b; i++)
            {
                similarity[i, (rank * b) + i].fill_(50f);
            }
            for (var seed = 0; seed < 300; seed++)
            {
                using var generator = new Generator((ulong)seed);
                var picked = HardNegativeSampler.Sample(similarity, rank * b, generator).data<long>().ToArray();
                for (var i = 0; i < b; i++)
                {
                    Assert.NotEqual((rank * b) + i, picked[i]);
                }
            }
        }
    }

    [Fact]
    public void Should_never_pick_the_positive_when_this_rank_holds_a_short_block_of_an_uneven_split()
    {
        using var scope = NewDisposeScope();
        // B = 7 over W = 3 splits 3/2/2: rank 2's two rows sit at columns 5 and 6.
        var similarity = randn(2, 7);
        similarity[0, 5].fill_(50f);
        similarity[1, 6].fill_(50f);
        for (var seed = 0; seed < 200; seed++)
        {
            using var generator = new Generator((ulong)seed);
            var picked = HardNegativeSampler.Sample(similarity, 5, generator).data<long>().ToArray();
            Assert.NotEqual(5, picked[0]);
            Assert.NotEqual(6, picked[1]);
        }
    }

    [Fact]
    public void Should_pick_rows_of_other_ranks_when_they_are_the_hardest()
    {
        using var scope = NewDisposeScope();
        const int b = 2;
        var similarity = full([b, 4 * b], -20f);
        similarity.narrow(1, 3 * b, b).fill_(5f);   // rank 3's rows look most similar to rank 1's local rows
        var counts = new int[4 * b];
        for (var seed = 0; seed < 100; seed++)
        {
            using var generator = new Generator((ulong)seed);
            foreach (var column in HardNegativeSampler.Sample(similarity, 1 * b, generator).data<long>().ToArray())
            {
                counts[column]++;
            }
        }

        Assert.Equal(2 * 100, counts[(3 * b)..].Sum());
    }

    [Fact]
    public void Should_skip_pairs_of_the_same_group_when_groups_are_given_and_other_groups_remain()
    {
        using var scope = NewDisposeScope();
        var similarity = zeros(2, 4);
        var rows = tensor(new long[] { 7, 8 });
        var columns = tensor(new long[] { 7, 8, 7, 9 });
        for (var seed = 0; seed < 100; seed++)
        {
            using var generator = new Generator((ulong)seed);
            var picked = HardNegativeSampler.Sample(similarity, 0, generator, rows, columns).data<long>().ToArray();
            Assert.Contains(picked[0], new long[] { 1, 3 });   // not 0 (itself) nor 2 (same group 7)
            Assert.Contains(picked[1], new long[] { 0, 2, 3 });
        }
    }

    [Fact]
    public void Should_be_deterministic_when_the_generator_seed_repeats()
    {
        using var scope = NewDisposeScope();
        var similarity = randn(4, 8);
        using var first = new Generator(42);
        using var second = new Generator(42);

        Assert.Equal(
            HardNegativeSampler.Sample(similarity, 4, first).data<long>().ToArray(),
            HardNegativeSampler.Sample(similarity, 4, second).data<long>().ToArray());
    }
    [Theory]
    [InlineData(1.0, 400, 400)]   // LAVIS: the hardest column (10 logits above the rest) nearly every time
    [InlineData(0.0, 40, 160)]    // uniform over the 4 columns of other groups: about 100 of 400 each
    public void Should_soften_the_preference_for_the_hardest_column_when_sharpness_is_below_one(double sharpness, int atLeast, int atMost)
    {
        using var scope = NewDisposeScope();
        // One row (group 0, positive at column 0) against 6 columns: column 1 shares its group, column 2 is the hardest.
        var similarity = tensor(new float[,] { { 20f, 15f, 10f, 0f, 0f, 0f } });
        var rowGroups = tensor(new long[] { 0 });
        var columnGroups = tensor(new long[] { 0, 0, 1, 2, 3, 4 });
        var counts = new int[6];
        for (var seed = 0; seed < 400; seed++)
        {
            using var generator = new Generator((ulong)seed);
            counts[HardNegativeSampler.Sample(similarity, 0, generator, rowGroups, columnGroups, sharpness).item<long>()]++;
        }
        Assert.Equal(0, counts[0] + counts[1]);
        Assert.InRange(counts[2], atLeast, atMost);
        Assert.Equal(400, counts.Sum());
    }
}
