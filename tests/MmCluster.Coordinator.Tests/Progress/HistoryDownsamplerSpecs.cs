using MmCluster.Coordinator.Progress;
using MmCluster.Shared.Runs;
using Xunit;

namespace MmCluster.Coordinator.Tests.Progress;

public sealed class HistoryDownsamplerSpecs
{
    private static HistoryPoint Point(string stage, long step, double loss) =>
        new() { Stage = stage, Step = step, Losses = new Dictionary<string, double> { ["loss"] = loss } };

    [Fact]
    public void Should_keep_every_point_when_a_stage_has_no_more_than_the_limit()
    {
        var points = Enumerable.Range(1, 5).Select(s => Point("clip", s, 1.0 / s)).ToList();

        Assert.Equal(points, HistoryDownsampler.Downsample(points, 5));
    }

    [Fact]
    public void Should_keep_ends_evaluations_recoveries_and_each_bucket_s_extremes_when_a_stage_has_too_many_points()
    {
        var points = Enumerable.Range(1, 1000).Select(s => s switch
        {
            500 => Point("clip", s, 99.0),                                   // a spike
            501 => Point("clip", s, -99.0),                                  // and a dip
            250 => Point("clip", s, 1.0) with { Eval = new Dictionary<string, double> { ["zero_shot_top1"] = 0.3 } },
            750 => Point("clip", s, 1.0) with { Recovery = new RecoverySummary { Stage = "clip", Step = 740, Cause = "w1 left" } },
            _ => Point("clip", s, Math.Sin(s)),
        }).ToList();

        var kept = HistoryDownsampler.Downsample(points, 100);

        Assert.InRange(kept.Count, 50, 100);
        Assert.Equal([1L, 1000L], new[] { kept[0].Step, kept[^1].Step });
        Assert.Contains(kept, p => p.Step == 250);
        Assert.Contains(kept, p => p.Step == 750);
        Assert.Contains(kept, p => p.Step == 500);
        Assert.Contains(kept, p => p.Step == 501);
        Assert.Equal(kept.OrderBy(p => p.Step).Select(p => p.Step), kept.Select(p => p.Step));
    }

    [Fact]
    public void Should_limit_each_stage_on_its_own_when_the_history_has_several()
    {
        var points = Enumerable.Range(1, 300).Select(s => Point("clip", s, s)).Concat(Enumerable.Range(1, 30).Select(s => Point("lm", s, s))).ToList();

        var kept = HistoryDownsampler.Downsample(points, 50);

        Assert.InRange(kept.Count(p => p.Stage == "clip"), 2, 50);
        Assert.Equal(30, kept.Count(p => p.Stage == "lm"));
    }
}
