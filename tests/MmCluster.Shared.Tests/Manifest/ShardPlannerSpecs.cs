using MmCluster.Shared.Manifest;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

public sealed class ShardPlannerSpecs
{
    private static readonly IReadOnlyList<ManifestFileSummary> Files =
    [
        File("a.parquet", "train", 100, 100, 50),
        File("b.parquet", "train", 100, 30),
        File("c.parquet", "test", 70),
        File("d.parquet", null, 10, 10, 10, 10),
    ];

    [Fact]
    public void Should_make_one_shard_per_row_group_when_no_target_is_given()
    {
        var shards = ShardPlanner.BuildShards(Files);

        Assert.Equal(10, shards.Count);
        Assert.Equal(Enumerable.Range(0, 10), shards.Select(s => s.ShardId));
        Assert.All(shards, s => Assert.Equal(1, s.RowGroupCount));
        Assert.Equal(new ShardSpec(2, "a.parquet", 2, 1, 200, 50), shards[2]);
        Assert.Equal(new ShardSpec(4, "b.parquet", 1, 1, 100, 30), shards[4]);
    }

    [Fact]
    public void Should_cover_every_row_exactly_once_without_spanning_files_when_row_groups_are_merged()
    {
        var shards = ShardPlanner.BuildShards(Files, new ShardPlanOptions { TargetRowsPerShard = 200 });

        Assert.Equal(
            [("a.parquet", 0, 2), ("a.parquet", 2, 1), ("b.parquet", 0, 2), ("c.parquet", 0, 1), ("d.parquet", 0, 4)],
            shards.Select(s => (s.File, s.FirstRowGroup, s.RowGroupCount)));
        foreach (var file in Files)
        {
            var rows = shards.Where(s => s.File == file.File).OrderBy(s => s.FirstRow).ToList();
            var next = 0L;
            var group = 0;
            foreach (var shard in rows)
            {
                Assert.Equal(next, shard.FirstRow);
                Assert.Equal(group, shard.FirstRowGroup);
                Assert.Equal(file.RowGroups.Skip(group).Take(shard.RowGroupCount).Sum(g => g.Rows), shard.RowCount);
                next += shard.RowCount;
                group += shard.RowGroupCount;
            }
            Assert.Equal(file.Rows, next);
            Assert.Equal(file.RowGroups.Count, group);
        }
    }

    [Fact]
    public void Should_give_the_same_order_when_seed_and_epoch_are_the_same()
    {
        var shards = ShardPlanner.BuildShards(Files);

        var first = ShardPlanner.PlanEpoch(shards, seed: 7, epoch: 3);
        var second = ShardPlanner.PlanEpoch(ShardPlanner.BuildShards(Files), seed: 7, epoch: 3);

        Assert.Equal(first.Shards, second.Shards);
        Assert.Equal(3, first.Epoch);
        Assert.Equal(7, first.Seed);
    }

    [Fact]
    public void Should_keep_a_fixed_order_across_processes_when_seed_and_epoch_are_fixed()
    {
        // Golden values computed by an independent Python SplitMix64 + Fisher-Yates; they must never change.
        var plan = ShardPlanner.PlanEpoch(ShardPlanner.BuildShards(Files), seed: 42, epoch: 0);
        var random = new SplitMix64(1234567);

        Assert.Equal([0, 3, 5, 7, 9, 8, 2, 1, 4, 6], plan.Shards.Select(s => s.ShardId));
        Assert.Equal(6457827717110365317UL, random.Next()); // the published SplitMix64 reference sequence
        Assert.Equal(3203168211198807973UL, random.Next());
    }

    [Fact]
    public void Should_shuffle_differently_when_epoch_changes()
    {
        var shards = Enumerable.Range(0, 200).Select(i => new ShardSpec(i, $"f{i / 10}.parquet", i % 10, 1, i % 10 * 100L, 100)).ToList();

        var orders = Enumerable.Range(0, 5).Select(e => ShardPlanner.PlanEpoch(shards, seed: 1, epoch: e).Shards.Select(s => s.ShardId).ToList()).ToList();

        for (var a = 0; a < orders.Count; a++)
        {
            Assert.Equal(Enumerable.Range(0, 200), orders[a].Order());
            Assert.NotEqual(Enumerable.Range(0, 200), orders[a]);
            for (var b = a + 1; b < orders.Count; b++)
            {
                Assert.NotEqual(orders[a], orders[b]);
            }
        }
        Assert.NotEqual(orders[0], ShardPlanner.PlanEpoch(shards, seed: 2, epoch: 0).Shards.Select(s => s.ShardId));
    }

    [Fact]
    public void Should_keep_only_matching_and_unknown_split_files_when_split_is_given()
    {
        var plan = ShardPlanner.Plan(Files, seed: 1, epoch: 0, new ShardPlanOptions { Split = "test" });

        Assert.Equal(["c.parquet", "d.parquet"], plan.Shards.Select(s => s.File).Distinct().Order());
        Assert.Equal(110, plan.TotalRows);
    }

    [Fact]
    public void Should_skip_empty_row_groups_when_building_shards()
    {
        var shards = ShardPlanner.BuildShards([File("e.parquet", null, 0, 5, 0)]);

        Assert.Equal([new ShardSpec(0, "e.parquet", 1, 1, 0, 5)], shards);
    }

    private static ManifestFileSummary File(string name, string? split, params long[] groups) =>
        new(name, 1000, split, groups.Select(g => new RowGroupSummary(g, g * 10, g * 20)).ToList());
}
