using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

public sealed class DevReportSpecs
{
    [Fact]
    public void Should_show_headline_metrics_but_not_image_counts_or_class_pair_breakdowns_when_the_progress_line_is_built()
    {
        var snapshot = new Shared.Grpc.Dashboard.RunSnapshot
        {
            Stage = "blip2-stage1",
            LastEval = new Shared.Grpc.Dashboard.Evaluation
            {
                Metrics = { ["itm_accuracy"] = 0.951, ["pairs"] = 1000, ["caption_images"] = 10000, ["itm_wrong.shirt|coat"] = 4 },
            },
        };

        var line = DevReport.ProgressLine(snapshot);

        Assert.Contains("itm_accuracy=0.951", line);
        Assert.Contains("pairs=1000", line);
        Assert.DoesNotContain("caption_images", line);
        Assert.DoesNotContain("itm_wrong", line);
    }
}
