using MmCluster.Worker.Runtime;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

public sealed class GcBudgetSpecs
{
    [Fact]
    public void Should_give_a_child_worker_the_budget_unless_its_caller_chose_one()
    {
        Assert.Null(Environment.GetEnvironmentVariable(GcBudget.Variable));   // the test process itself runs without it
        var environment = new Dictionary<string, string> { ["MMCLUSTER_TOKEN"] = "t" };
        GcBudget.AddTo(environment);
        Assert.Equal("0x10000000", environment["DOTNET_GCgen0size"]);

        var chosen = new Dictionary<string, string> { [GcBudget.Variable] = "0x4000000" };
        GcBudget.AddTo(chosen);
        Assert.Equal("0x4000000", chosen[GcBudget.Variable]);
    }

    [Fact]
    public void Should_describe_the_budget_in_effect_or_warn_naming_the_variable_and_its_value()
    {
        Assert.Equal("gen0 GC budget 0x10000000 (DOTNET_GCgen0size)", GcBudget.Describe("0x10000000"));
        var warning = GcBudget.Describe(null);
        Assert.StartsWith("warning: DOTNET_GCgen0size is not set", warning, StringComparison.Ordinal);
        Assert.Contains("DOTNET_GCgen0size=0x10000000", warning, StringComparison.Ordinal);
    }
}
