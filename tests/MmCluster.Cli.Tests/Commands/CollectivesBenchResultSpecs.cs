using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>The benchmark's arithmetic follows nccl-tests (PERFORMANCE.md) and its JSON lines carry the agreed fields.</summary>
public sealed class CollectivesBenchResultSpecs
{
    [Theory]
    [InlineData("allgather", 2, 0.5)]
    [InlineData("reducescatter", 4, 0.75)]
    [InlineData("allreduce", 2, 1.0)]
    [InlineData("allreduce", 4, 1.5)]
    [InlineData("broadcast", 3, 1.0)]
    [InlineData("allgather-bf16", 2, 0.5)]
    [InlineData("allreduce-bf16", 4, 1.5)]
    [InlineData("tcp", 2, 1.0)]
    [InlineData("tcp-duplex", 2, 0.5)]
    public void Should_scale_algbw_by_the_nccl_tests_factor_when_computing_busbw(string op, int world, double factor)
    {
        var result = new CollectivesBenchResult(op, world, 64, 100, 5);

        Assert.Equal(64 * 1048576 / 0.1 / 1e9, result.AlgbwGBps, 9);
        Assert.Equal(result.AlgbwGBps * factor, result.BusbwGBps, 9);
    }

    [Fact]
    public void Should_write_one_json_object_with_the_agreed_fields_when_asked_for_json()
    {
        var json = new CollectivesBenchResult("tcp", 2, 64, 20, 5).ToJson();

        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal("tcp", doc.RootElement.GetProperty("op").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("world").GetInt32());
        Assert.Equal(64, doc.RootElement.GetProperty("MiB").GetDouble());
        Assert.Equal(20, doc.RootElement.GetProperty("time_ms").GetDouble());
        Assert.True(doc.RootElement.GetProperty("algbw_GBps").GetDouble() > 3);
        Assert.True(doc.RootElement.TryGetProperty("busbw_GBps", out _));
    }

    [Fact]
    public void Should_take_the_middle_value_when_computing_the_median()
    {
        Assert.Equal(2, CollectivesBenchResult.Median([3, 1, 2]));
        Assert.Equal(2.5, CollectivesBenchResult.Median([4, 1, 2, 3]));
    }
}
