using MmCluster.Cli.Hosting;
using Xunit;

namespace MmCluster.Cli.Tests.Hosting;

public sealed class ChildOutputSpecs
{
    [Fact]
    public void Should_show_the_error_line_and_one_pointer_to_the_log_when_a_child_prints_a_stack_trace()
    {
        var output = new ChildOutput("runs/x/logs/worker-1.log");
        string[] printed =
        [
            "worker worker-1: training failed: System.IO.InvalidDataException: part-0.parquet, row group 3, row 7: image does not decode",
            "   at MmCluster.Shared.Manifest.ParquetManifestReader.LoadImage(Int32 i) in /src/Shared/Manifest/ParquetManifestReader.cs:line 371",
            "   at MmCluster.Worker.Runtime.ShardBatchFeed.FillAsync()",
            "--- End of stack trace from previous location ---",
            "   at MmCluster.Worker.Runtime.StageTrainingSession.RunAsync()",
            "worker worker-1: stopping",
        ];

        var shown = printed.Select(output.Show).Where(l => l is not null).ToList();

        Assert.Equal(
        [
            printed[0],
            "  (stack trace in runs/x/logs/worker-1.log)",
            "worker worker-1: stopping",
        ], shown);
    }

    [Theory]
    [InlineData("worker worker-0: step 10 loss 2.31 at 51 samples/s")]
    [InlineData("mmcluster dev: at most 2 workers")]
    [InlineData("")]
    public void Should_show_the_line_unchanged_when_it_is_not_a_stack_frame(string line)
    {
        Assert.Equal(line, new ChildOutput("log").Show(line));
    }
}
