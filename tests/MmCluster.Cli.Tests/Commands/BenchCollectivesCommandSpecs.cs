using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>
/// <c>mmcluster bench collectives</c> as a user runs it: real rank processes on loopback, one JSON object per line with the
/// agreed fields, both raw TCP references, each transport's lanes reported as they really were.
/// </summary>
public sealed class BenchCollectivesCommandSpecs(ITestOutputHelper output)
{
    [Fact]
    public async Task Should_print_a_json_line_per_operation_transport_and_reference_when_run_with_json()
    {
        var (exit, log) = await CliHarness.RunAsync(
            ["bench", "collectives", "--world", "2", "--sizes", "1", "--iters", "2", "--ops", "allgather,allreduce-bf16", "--json"],
            TimeSpan.FromMinutes(2), output);

        Assert.Equal(0, exit);
        var rows = log.Split('\n').Where(line => line.StartsWith('{')).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var seen = rows.Select(r => (r.GetProperty("op").GetString(), r.TryGetProperty("transport", out var t) ? t.GetString() : null)).ToList();
        Assert.Equal(
            [("tcp", null), ("tcp-duplex", null), ("allgather", "grpc"), ("allreduce-bf16", "grpc"), ("allgather", "tcp"), ("allreduce-bf16", "tcp"),
                ("allgather", "shm"), ("allreduce-bf16", "shm")],
            seen);
        Assert.All(rows, r =>
        {
            Assert.Equal(2, r.GetProperty("world").GetInt32());
            Assert.Equal(1, r.GetProperty("MiB").GetDouble());
            Assert.True(r.GetProperty("algbw_GBps").GetDouble() > 0);
            Assert.True(r.GetProperty("busbw_GBps").GetDouble() > 0);
        });
        var duplex = rows[1];
        // Both figures are printed to 4 significant digits, each rounded on its own (0.1491 / 2 = 0.07455 beside a printed
        // 0.0745 failed a 3-decimal comparison once): equal to within that rounding.
        var (algbw, busbw) = (duplex.GetProperty("algbw_GBps").GetDouble(), duplex.GetProperty("busbw_GBps").GetDouble());
        Assert.True(Math.Abs((algbw / 2) - busbw) <= 1e-3 * algbw, $"busbw {busbw} is not half of algbw {algbw}");
    }

    [Fact]
    public async Task Should_fail_naming_the_known_operations_when_an_operation_is_unknown()
    {
        var (exit, log) = await CliHarness.RunAsync(["bench", "collectives", "--ops", "allgather,alltoall"], TimeSpan.FromMinutes(1), output);

        Assert.NotEqual(0, exit);
        Assert.Contains("'alltoall' is not one of", log, StringComparison.Ordinal);
        Assert.Contains("allreduce-bf16", log, StringComparison.Ordinal);
    }
}
