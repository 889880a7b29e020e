using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.Run;

/// <summary>
/// The BLIP-2 schedule across a real dev cluster: 2 worker processes run clip -> lm -> blip2-stage1 -> blip2-stage2 on a
/// tiny manifest, each stage handing its committed checkpoint to the next, and <c>mmcluster caption</c> captions a PNG
/// with the run's stage-2 checkpoint.
/// </summary>
public sealed class Blip2ScheduleSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-blip2-").FullName;

    [Fact]
    public async Task Should_finish_every_stage_with_its_losses_and_evals_and_caption_a_png_when_two_workers_run_the_blip2_schedule()
    {
        var manifest = Path.Combine(root, "manifest");
        await CliHarness.WriteManifestAsync(manifest, trainRows: 64, testRows: 20);
        var spec = Path.Combine(root, "blip2.yaml");
        await File.WriteAllTextAsync(spec, $$"""
            name: tiny-blip2
            seed: 11
            world_size: 2
            manifest:
              path: {{manifest}}
            stages:
              - name: clip
                kind: clip
                model: { preset: clip-mini }
                batch_size: 8
                steps: 2
                eval: { retrieval: { held_out: 8 } }
              - name: lm
                kind: lm
                model: { preset: lm-tiny, overrides: { layers: 1, width: 32, heads: 2 } }
                batch_size: 8
                steps: 2
              - name: blip2-stage1
                kind: blip2-stage1
                depends_on: [clip]
                model: { preset: blip2-tiny, overrides: { num_query_tokens: 4, width: 32, heads: 2, embed_dim: 16 } }
                init: { from: clip, freeze: [visual] }
                batch_size: 8
                steps: 3
                eval: { retrieval: { held_out: 12 } }
              - name: blip2-stage2
                kind: blip2-stage2
                depends_on: [blip2-stage1, lm]
                model: { preset: blip2-tiny, overrides: { num_query_tokens: 4, width: 32, heads: 2, embed_dim: 16 } }
                init: { from: [blip2-stage1, lm], freeze: [visual, lm] }
                batch_size: 8
                steps: 2
            """);
        var runDir = Path.Combine(root, "run");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", runDir], TimeSpan.FromMinutes(4), output);

        Assert.True(exit == 0, $"mmcluster dev exited {exit}:\n{log}");
        var summary = RunSummary.Read(Path.Combine(runDir, "summary.json"));
        Assert.Equal("succeeded", summary.Status);
        Assert.Equal(
            [("clip", StageState.Done, 2L), ("lm", StageState.Done, 2L), ("blip2-stage1", StageState.Done, 3L), ("blip2-stage2", StageState.Done, 2L)],
            summary.Stages.Select(s => (s.Name, s.State, s.Steps)));
        var stage1 = summary.Stages[2];
        Assert.All(["itc", "itm", "itg"], loss => Assert.True(double.IsFinite(stage1.Losses[loss]), $"stage 1 has no finite {loss} loss"));
        Assert.InRange(stage1.Eval["i2t_r1"], 0, 1);
        Assert.InRange(stage1.Eval["itm_accuracy"], 0, 1);
        Assert.True(double.IsFinite(summary.Stages[1].Eval["perplexity"]));
        Assert.InRange(summary.Stages[3].Eval["names_class"], 0, 1);
        Assert.Equal(20, summary.Stages[3].Eval["caption_images"]);
        Assert.True(double.IsFinite(summary.Stages[3].Losses["lm"]));

        var png = Path.Combine(root, "shirt.png");
        await File.WriteAllBytesAsync(png, GrayPng.Encode(new byte[28 * 28], 28, 28));
        var (captionExit, captions) = await CliHarness.RunAsync(["caption", "--checkpoint", runDir, png, "--beam", "2", "--device", "cpu"], TimeSpan.FromMinutes(1), output);
        Assert.True(captionExit == 0, $"mmcluster caption exited {captionExit}:\n{captions}");
        Assert.Contains($"{png}: ", captions);
        Assert.Contains(" on cpu", captions);
        var (uncachedExit, uncached) = await CliHarness.RunAsync(["caption", "--checkpoint", runDir, png, "--beam", "2", "--cache", "off"], TimeSpan.FromMinutes(1), output);
        Assert.True(uncachedExit == 0, $"mmcluster caption --cache off exited {uncachedExit}:\n{uncached}");
        Assert.Equal(CaptionLine(captions, png), CaptionLine(uncached, png));   // the key-value cache changes no caption
    }

    private static string CaptionLine(string log, string png) =>
        log.Split('\n').Single(line => line.StartsWith($"{png}: ", StringComparison.Ordinal)).TrimEnd();

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
