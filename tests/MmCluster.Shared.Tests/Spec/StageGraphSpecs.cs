using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Shared.Tests.Spec;

public sealed class StageGraphSpecs
{
    private static StageNode Node(string name, params string[] dependsOn) => new(name, dependsOn);

    [Fact]
    public void Should_order_dependencies_first_and_keep_declaration_order_on_ties_when_graph_is_a_dag()
    {
        // Declared out of order on purpose: stage2 first, clip and lm both roots.
        var graph = StageGraph.Build([Node("stage2", "stage1", "lm"), Node("clip"), Node("stage1", "clip"), Node("lm")]);

        Assert.Equal(["clip", "stage1", "lm", "stage2"], graph.Order);
    }

    [Fact]
    public void Should_keep_declaration_order_when_stages_are_independent()
    {
        var graph = StageGraph.Build([Node("c"), Node("a"), Node("b")]);

        Assert.Equal(["c", "a", "b"], graph.Order);
    }

    [Fact]
    public void Should_report_each_cycle_once_at_the_closing_edge_when_stages_depend_on_each_other()
    {
        var issues = StageGraph.Check([Node("a", "c"), Node("b", "a"), Node("c", "b"), Node("d", "d"), Node("e")]);

        Assert.Equal(2, issues.Count);
        Assert.All(issues, i => Assert.Equal(StageGraphIssueKind.Cycle, i.Kind));
        Assert.Contains("a -> c -> b -> a", issues[0].Message);
        Assert.Equal((1, 0), (issues[0].Stage, issues[0].Dependency!.Value));
        Assert.Contains("d -> d", issues[1].Message);
        Assert.Equal((3, 0), (issues[1].Stage, issues[1].Dependency!.Value));
    }

    [Fact]
    public void Should_report_duplicates_and_unknown_dependencies_when_names_do_not_match()
    {
        var issues = StageGraph.Check([Node("a"), Node("b", "a", "x"), Node("a")]);

        Assert.Collection(issues,
            i => Assert.Equal((StageGraphIssueKind.DuplicateName, 2, (int?)null), (i.Kind, i.Stage, i.Dependency)),
            i => Assert.Equal((StageGraphIssueKind.UnknownDependency, 1, (int?)1), (i.Kind, i.Stage, i.Dependency)));
    }

    [Fact]
    public void Should_throw_listing_issues_when_building_an_invalid_graph()
    {
        var error = Assert.Throws<ArgumentException>(() => StageGraph.Build([Node("a", "b"), Node("b", "a")]));

        Assert.Contains("dependency cycle", error.Message);
    }

    [Fact]
    public void Should_list_ready_stages_in_order_when_their_dependencies_are_done()
    {
        var graph = StageGraph.Build([Node("clip"), Node("lm"), Node("s1", "clip"), Node("s2", "s1", "lm")]);
        var none = new HashSet<string>();

        Assert.Equal(["clip", "lm"], graph.Ready(none, none));
        Assert.Equal(["lm", "s1"], graph.Ready(new HashSet<string> { "clip" }, none));
        Assert.Equal(["s1"], graph.Ready(new HashSet<string> { "clip" }, new HashSet<string> { "lm" }));
        Assert.Equal(["s2"], graph.Ready(new HashSet<string> { "clip", "lm", "s1" }, none));
    }

    [Fact]
    public void Should_block_every_descendant_when_a_stage_fails()
    {
        var graph = StageGraph.Build([Node("clip"), Node("lm"), Node("s1", "clip"), Node("s2", "s1", "lm")]);

        Assert.Equal(new HashSet<string> { "s1", "s2" }, graph.Blocked(new HashSet<string> { "clip" }));
        Assert.Equal(new HashSet<string> { "clip", "s1" }, graph.AncestorsOf("s2").Where(a => a != "lm").ToHashSet());
    }
}
