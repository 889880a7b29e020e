using System.Text;
using MmCluster.Shared.Runs;
using Xunit;

namespace MmCluster.Shared.Tests.Runs;

/// <summary>The split of a fixed global batch over a changing world, and its loss weights.</summary>
public sealed class BatchSplitSpecs
{
    [Theory]
    [InlineData(8, 3, new[] { 3, 3, 2 })]
    [InlineData(7, 3, new[] { 3, 2, 2 })]
    [InlineData(7, 2, new[] { 4, 3 })]
    [InlineData(6, 3, new[] { 2, 2, 2 })]
    [InlineData(5, 5, new[] { 1, 1, 1, 1, 1 })]
    [InlineData(9, 1, new[] { 9 })]
    public void Should_give_the_first_B_mod_W_ranks_one_row_more_when_W_does_not_divide_B(int b, int world, int[] rows)
    {
        Assert.Equal(rows, Enumerable.Range(0, world).Select(r => BatchSplit.Rows(b, world, r)));
        Assert.Equal(rows.Max(), BatchSplit.MaxRows(b, world));
        Assert.Equal(b % world == 0, BatchSplit.IsEven(b, world));
    }

    [Fact]
    public void Should_place_each_rank_right_after_the_previous_one_when_blocks_are_uneven()
    {
        for (var world = 1; world <= 6; world++)
        {
            for (var b = world; b <= 20; b++)
            {
                var offset = 0;
                for (var rank = 0; rank < world; rank++)
                {
                    Assert.Equal(offset, BatchSplit.Offset(b, world, rank));
                    offset += BatchSplit.Rows(b, world, rank);
                }
                Assert.Equal(b, offset);
            }
        }
    }

    [Fact]
    public void Should_weigh_losses_so_their_mean_over_ranks_is_the_mean_over_rows_when_the_split_is_uneven()
    {
        Assert.Equal([9.0 / 8, 9.0 / 8, 6.0 / 8], Enumerable.Range(0, 3).Select(r => BatchSplit.LossWeight(8, 3, r)));
        for (var world = 1; world <= 6; world++)
        {
            for (var b = world; b <= 20; b++)
            {
                // a row of rank r counts w_r / b_r / W in the mean over ranks: 1/B for every row
                var perRow = Enumerable.Range(0, world).Select(r => BatchSplit.LossWeight(b, world, r) / BatchSplit.Rows(b, world, r) / world);
                Assert.All(perRow, w => Assert.Equal(1.0 / b, w, 12));
            }
        }
    }

    [Fact]
    public void Should_weigh_every_rank_exactly_one_when_W_divides_B()
    {
        Assert.All(Enumerable.Range(0, 4).Select(r => BatchSplit.LossWeight(12, 4, r)), w => Assert.Equal(1.0, w));
    }

    [Theory]
    [InlineData(2, 3, 0)]
    [InlineData(8, 0, 0)]
    [InlineData(8, 3, 3)]
    [InlineData(8, 3, -1)]
    public void Should_refuse_a_split_when_a_rank_would_get_no_row_or_is_out_of_the_world(int b, int world, int rank)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchSplit.Rows(b, world, rank));
    }

    [Fact]
    public void Should_read_the_global_batch_as_world_times_batch_when_the_config_predates_it()
    {
        var json = """{"run_id":"r","run_directory":"/r","stage":"clip","kind":"clip","preset":"clip-tiny","manifest_path":"/m","batch_size":4}""";

        var old = StageConfig.FromJson(Encoding.UTF8.GetBytes(json));

        Assert.Equal((0, 12, 4), (old.GlobalBatchSize, old.GlobalBatch(3), old.RowsPerRank(3, 2)));
    }

    [Fact]
    public void Should_keep_the_global_batch_and_split_it_over_a_smaller_world_when_it_travels_as_json()
    {
        var config = new StageConfig
        {
            RunId = "r", RunDirectory = "/r", Stage = "clip", Kind = "clip", Preset = "clip-tiny", ManifestPath = "/m",
            BatchSize = 4, GlobalBatchSize = 12,
        };

        var bytes = config.ToJsonBytes();
        var back = StageConfig.FromJson(bytes);

        Assert.Contains("\"global_batch_size\":12", Encoding.UTF8.GetString(bytes));
        Assert.Equal(12, back.GlobalBatch(2));
        Assert.Equal([3, 3, 2, 2, 2], Enumerable.Range(0, 5).Select(r => back.RowsPerRank(5, r)));
    }
}
