using System.Text.Json;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Shared.Tests.Runs;

public sealed class RunSummarySpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("summary-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RunSnapshot Finished() => new()
    {
        RunId = "r1",
        RunName = "demo",
        State = RunState.Succeeded,
        WorldSize = 2,
        WallSeconds = 321.5,
        Stages =
        [
            new StageProgress
            {
                Name = "clip", Kind = StageKind.Clip, State = StageState.Done, Step = 900, TotalSteps = 900, SamplesSeen = 115_200,
                Losses = new Dictionary<string, double> { ["loss"] = 0.42 },
                Eval = new Dictionary<string, double> { ["zero_shot_top1"] = 0.83, ["i2t_r1"] = 0.2 },
            },
            new StageProgress
            {
                Name = "s1", Kind = StageKind.Blip2Stage1, State = StageState.Done, Step = 10, SamplesSeen = 640,
                Losses = new Dictionary<string, double> { ["loss"] = 3.0, ["itc"] = 1.0, ["itm"] = 0.5, ["itg"] = 1.5 },
                Eval = new Dictionary<string, double> { ["i2t_r1"] = 0.4, ["itm_acc"] = 0.9 },
            },
            new StageProgress { Name = "s2", Kind = StageKind.Blip2Stage2, State = StageState.Pending },
        ],
        Ledger =
        [
            new LedgerCounters("clip", 0, 60_000, 60_000, 0, 0),
            new LedgerCounters("clip", 1, 60_000, 59_904, 0, 93)
            {
                Skipped = 3,
                SkippedByReason = new Dictionary<string, long> { ["EmptyCaption"] = 2, ["ImageUndecodable"] = 1 },
                SkippedByFile = [new FileSkipCounters("train-00001.parquet", 30_000, 29_904, new Dictionary<string, long> { ["EmptyCaption"] = 2, ["ImageUndecodable"] = 1 })],
            },
            new LedgerCounters("clip", 2, 60_000, 0, 0, 0) { Ran = false },
        ],
    };

    [Fact]
    public void Should_write_the_documented_snake_case_fields_when_a_run_finishes()
    {
        var path = Path.Combine(_dir, "run", "summary.json");

        RunSummary.From(Finished()).Write(path);

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var root = json.RootElement;
        Assert.Equal("succeeded", root.GetProperty("status").GetString());
        Assert.Equal(2, root.GetProperty("world_size").GetInt32());
        Assert.Equal(321.5, root.GetProperty("wall_s").GetDouble());
        // The headline evaluation is the last stage's that evaluated, named.
        Assert.Equal("s1", root.GetProperty("eval_stage").GetString());
        Assert.Equal(0.4, root.GetProperty("eval").GetProperty("i2t_r1").GetDouble());
        Assert.Equal(0.83, root.GetProperty("stages")[0].GetProperty("eval").GetProperty("zero_shot_top1").GetDouble());
        var clip = root.GetProperty("stages")[0];
        Assert.Equal(("clip", "done", 900, 115_200L, 0.42), (clip.GetProperty("name").GetString(), clip.GetProperty("state").GetString(),
            clip.GetProperty("steps").GetInt32(), clip.GetProperty("samples_seen").GetInt64(), clip.GetProperty("final_loss").GetDouble()));
        Assert.Equal(1.5, root.GetProperty("stages")[1].GetProperty("losses").GetProperty("itg").GetDouble());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("stages")[2].GetProperty("final_loss").ValueKind);
        var epoch1 = root.GetProperty("ledger")[1];
        Assert.Equal((1, 60_000L, 59_904L, 0L, 93L), (epoch1.GetProperty("epoch").GetInt32(), epoch1.GetProperty("samples_expected").GetInt64(),
            epoch1.GetProperty("samples_committed").GetInt64(), epoch1.GetProperty("duplicates").GetInt64(), epoch1.GetProperty("missing").GetInt64()));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Should_keep_each_stage_metrics_apart_when_stages_evaluate_metrics_of_the_same_names()
    {
        // After the BLIP-2 schedule the headline once showed blip2-stage1's i2t_r1 beside clip's i2t_r5.
        var run = Finished();
        var stages = run.Stages.ToList();
        stages[0] = stages[0] with { Eval = new Dictionary<string, double> { ["i2t_r1"] = 0.05, ["i2t_r5"] = 0.118 } };
        stages[1] = stages[1] with { Eval = new Dictionary<string, double> { ["i2t_r1"] = 0.84 } };

        var summary = RunSummary.From(run with { Stages = stages });

        Assert.Equal(("s1", 0.84), (summary.EvalStage, summary.Eval["i2t_r1"]));
        Assert.False(summary.Eval.ContainsKey("i2t_r5"));
        Assert.Equal((0.05, 0.118), (summary.Stages[0].Eval["i2t_r1"], summary.Stages[0].Eval["i2t_r5"]));
        Assert.Equal(0.84, Assert.Single(summary.Stages[1].Eval).Value);
    }

    [Fact]
    public void Should_have_no_headline_evaluation_when_no_stage_evaluated()
    {
        var run = Finished();

        var summary = RunSummary.From(run with { Stages = run.Stages.Select(s => s with { Eval = new Dictionary<string, double>() }).ToList() });

        Assert.Empty(summary.Eval);
        Assert.Null(summary.EvalStage);
    }

    [Fact]
    public void Should_write_skipped_rows_by_reason_and_file_and_mark_a_read_ahead_epoch_not_run_when_the_ledger_has_them()
    {
        var path = Path.Combine(_dir, "summary.json");

        RunSummary.From(Finished()).Write(path);

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var ledger = json.RootElement.GetProperty("ledger");
        var skipping = ledger[1];
        Assert.Equal((3L, 93L, true), (skipping.GetProperty("skipped").GetInt64(), skipping.GetProperty("missing").GetInt64(), skipping.GetProperty("ran").GetBoolean()));
        Assert.Equal(2, skipping.GetProperty("skipped_by_reason").GetProperty("EmptyCaption").GetInt64());
        Assert.Equal(1, skipping.GetProperty("skipped_by_reason").GetProperty("ImageUndecodable").GetInt64());
        var file = skipping.GetProperty("skipped_by_file")[0];
        Assert.Equal(("train-00001.parquet", 29_904L, 1L), (file.GetProperty("file").GetString(), file.GetProperty("samples_committed").GetInt64(),
            file.GetProperty("skipped_by_reason").GetProperty("ImageUndecodable").GetInt64()));
        Assert.Equal((false, 0L), (ledger[2].GetProperty("ran").GetBoolean(), ledger[2].GetProperty("missing").GetInt64()));
    }

    [Fact]
    public void Should_read_back_what_it_wrote_when_round_tripped()
    {
        var path = Path.Combine(_dir, "summary.json");
        var summary = RunSummary.From(Finished() with { State = RunState.Failed, Error = "worker w1 left" });

        summary.Write(path);
        var back = RunSummary.Read(path);

        Assert.Equal(("failed", "worker w1 left", 3), (back.Status, back.Error, back.Stages.Count));
        Assert.Equal(summary.Ledger, back.Ledger);
    }

    [Fact]
    public void Should_append_one_flushed_json_object_per_line_when_points_are_written()
    {
        var path = Path.Combine(_dir, "metrics.jsonl");
        using (var writer = new MetricsJsonlWriter(path))
        {
            writer.Append(new HistoryPoint { Stage = "clip", Step = 1, Epoch = 0, WallSeconds = 0.5, Lr = 1e-4, SamplesPerSecond = 512, Losses = new Dictionary<string, double> { ["loss"] = 2.3 } });
            // Readable while the writer is still open: every line is flushed.
            Assert.Single(File.ReadAllLines(path));
            writer.Append(new HistoryPoint { Stage = "clip", Step = 2, Eval = new Dictionary<string, double> { ["zero_shot_top1"] = 0.5 } });
        }

        var lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal(512, first.RootElement.GetProperty("samples_per_s").GetDouble());
        Assert.Equal(0.5, first.RootElement.GetProperty("wall_s").GetDouble());
        Assert.Equal(2.3, first.RootElement.GetProperty("losses").GetProperty("loss").GetDouble());
        Assert.False(first.RootElement.TryGetProperty("eval", out _));
        var points = MetricsJsonlWriter.Read(path);
        Assert.True(points[1].IsEvaluation);
        Assert.Equal(2.3, points[0].Loss);
    }

    [Fact]
    public void Should_write_the_cumulative_skipped_rows_by_reason_when_a_point_has_them()
    {
        var path = Path.Combine(_dir, "metrics.jsonl");
        using (var writer = new MetricsJsonlWriter(path))
        {
            writer.Append(new HistoryPoint { Stage = "clip", Step = 1 });
            writer.Append(new HistoryPoint { Stage = "clip", Step = 2, Skipped = new Dictionary<string, long> { ["PathOutsideManifest"] = 4 } });
        }

        var lines = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(JsonValueKind.Object, lines[0].GetProperty("skipped").ValueKind);
        Assert.Empty(lines[0].GetProperty("skipped").EnumerateObject());
        Assert.Equal(4, lines[1].GetProperty("skipped").GetProperty("PathOutsideManifest").GetInt64());
        Assert.Equal(4, MetricsJsonlWriter.Read(path)[1].Skipped["PathOutsideManifest"]);
    }
}
