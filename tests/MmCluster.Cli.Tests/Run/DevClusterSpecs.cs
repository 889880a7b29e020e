using System.Text.Json;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.Run;

/// <summary>
/// The local dev cluster end to end, as a user runs it: <c>mmcluster dev</c> starts a coordinator and 2 worker
/// processes (Akka cluster, gRPC collectives, Parquet manifest, TorchSharp), trains a few CLIP steps on a tiny manifest,
/// evaluates, checkpoints and writes summary.json.
/// </summary>
public sealed class DevClusterSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-dev-").FullName;

    [Fact]
    public async Task Should_train_evaluate_and_checkpoint_when_two_workers_run_a_tiny_clip_spec()
    {
        var manifest = Path.Combine(root, "manifest");
        await CliHarness.WriteManifestAsync(manifest, trainRows: 64, testRows: 20);
        var spec = Path.Combine(root, "tiny.yaml");
        await File.WriteAllTextAsync(spec, $"""
            name: tiny
            seed: 3
            world_size: 2
            manifest:
              path: {manifest}
            stages:
              - name: clip
                kind: clip
                model:
                  preset: clip-mini
                batch_size: 8
                steps: 4
                optimizer:
                  lr: 1.0e-3
                eval:
                  every_steps: 2
                  retrieval:
                    held_out: 8
                checkpoint_every: 2
            """);
        var runDir = Path.Combine(root, "run");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", runDir], TimeSpan.FromMinutes(4), output);

        Assert.True(exit == 0, $"mmcluster dev exited {exit}:\n{log}");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "summary.json")));
        var s = summary.RootElement;
        Assert.Equal("succeeded", s.GetProperty("status").GetString());
        Assert.Equal(2, s.GetProperty("world_size").GetInt32());
        var stage = s.GetProperty("stages")[0];
        Assert.Equal(4, stage.GetProperty("steps").GetInt64());
        Assert.Equal(4 * 2 * 8, stage.GetProperty("samples_seen").GetInt64());
        Assert.True(double.IsFinite(stage.GetProperty("final_loss").GetDouble()));
        var top1 = s.GetProperty("eval").GetProperty("zero_shot_top1").GetDouble();
        Assert.InRange(top1, 0, 1);
        Assert.Equal(20, s.GetProperty("eval").GetProperty("zero_shot_images").GetDouble());
        foreach (var step in new[] { 2, 4 })
        {
            Assert.True(File.Exists(Path.Combine(runDir, "checkpoints", "clip", $"step-{step:D8}.safetensors")), $"no checkpoint for step {step}");
            Assert.True(File.Exists(Path.Combine(runDir, "checkpoints", "clip", $"step-{step:D8}.ledger.pb")), $"no committed ledger for step {step}");
        }
        var points = MetricsJsonlWriter.Read(Path.Combine(runDir, "metrics.jsonl"));
        Assert.NotEmpty(points);
        Assert.Contains(points, p => p.StepMs > 0 && p.CollectiveMs > 0 && p.CollectiveMs < p.StepMs); // 2 workers: time in collectives
        // Every worker's step split reaches the run's history (the web dashboard's per-worker plots).
        Assert.Contains(points, p => p.Workers is { Count: > 0 } workers && workers.All(w => w.ForwardBackwardMs > 0 && w.OptimizerMs > 0 && w.StepMs > 0));
        // and how long each waited for its batches (the input pipeline's share of a step).
        Assert.Contains("\"data_wait_ms\":", await File.ReadAllTextAsync(Path.Combine(runDir, "metrics.jsonl")));
        Assert.Matches(@"web dashboard http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{32}", log);
        Assert.True(File.Exists(Path.Combine(runDir, "logs", "worker-1.log")));
        // Two workers on one host: their lanes carry payloads in shared memory (the worker logs them after its first step).
        var workerLog = await File.ReadAllTextAsync(Path.Combine(runDir, "logs", "worker-1.log"));
        Assert.Contains("collective lanes: Forward/0: shm", workerLog);
        // dev starts its workers with the 256 MiB gen0 GC budget (GcBudget: far fewer GCs to free a TorchSharp scalar mid-call).
        Assert.Contains("gen0 GC budget 0x10000000 (DOTNET_GCgen0size)", workerLog);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(runDir, "tensorboard"), "*tfevents*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Should_run_both_stages_on_the_same_workers_when_the_second_starts_from_the_first_s_checkpoint()
    {
        var manifest = Path.Combine(root, "manifest");
        await CliHarness.WriteManifestAsync(manifest, trainRows: 64, testRows: 20);
        var spec = Path.Combine(root, "two-stage.yaml");
        await File.WriteAllTextAsync(spec, $"""
            name: two-stage
            seed: 5
            world_size: 2
            manifest:
              path: {manifest}
            stages:
              - name: clip
                kind: clip
                model:
                  preset: clip-mini
                batch_size: 8
                steps: 3
                eval:
                  retrieval:
                    held_out: 8
              - name: clip2
                kind: clip
                depends_on: [clip]
                model:
                  preset: clip-mini
                init:
                  from: clip
                batch_size: 4
                steps: 2
                optimizer:
                  lr: 1.0e-4
                eval:
                  retrieval:
                    held_out: 8
            """);
        var runDir = Path.Combine(root, "run");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", runDir], TimeSpan.FromMinutes(5), output);

        Assert.True(exit == 0, $"mmcluster dev exited {exit}:\n{log}");
        var summary = RunSummary.Read(Path.Combine(runDir, "summary.json"));
        Assert.Equal("succeeded", summary.Status);
        Assert.Equal(
            [("clip", StageState.Done, 3L, 3L * 2 * 8), ("clip2", StageState.Done, 2L, 2L * 2 * 4)],
            summary.Stages.Select(s => (s.Name, s.State, s.Steps, s.SamplesSeen)));
        Assert.All(summary.Stages, s => Assert.True(double.IsFinite(s.FinalLoss ?? double.NaN), $"stage {s.Name} has no final loss"));
        Assert.All(summary.Stages, s => Assert.InRange(s.Eval["zero_shot_top1"], 0, 1));
        Assert.Equal(["clip", "clip2"], summary.Ledger.Select(l => l.Stage).Distinct());
        var stage1 = Path.Combine(runDir, "checkpoints", "clip", "step-00000003.safetensors");
        var stage2 = Path.Combine(runDir, "checkpoints", "clip2", "step-00000002.safetensors");
        Assert.True(File.Exists(LedgerSidecar.PathFor(stage1)), "stage 1's final checkpoint was not committed");
        var (_, metadata) = SafeTensorsFile.Read(stage2);
        Assert.Equal(("clip2", $"clip={Path.GetFullPath(stage1)}"), (metadata["extra.stage"], metadata["extra.init"]));
        Assert.Contains($"from clip ({Path.GetFullPath(stage1)})", await File.ReadAllTextAsync(Path.Combine(runDir, "logs", "worker-1.log")));
        Assert.Equal(["clip", "clip2"], MetricsJsonlWriter.Read(Path.Combine(runDir, "metrics.jsonl")).Select(p => p.Stage).Distinct());
    }

    [Fact]
    public async Task Should_fail_the_run_with_the_worker_s_own_error_when_its_init_weights_do_not_fit_the_model()
    {
        var manifest = Path.Combine(root, "manifest");
        await CliHarness.WriteManifestAsync(manifest, trainRows: 32, testRows: 8);
        var weights = Path.Combine(root, "encoder.safetensors");
        SafeTensorsFile.Write(weights, [new SafeTensorEntry("logit_scale", "F32", [2], new byte[8])]);   // the model's is a scalar
        var spec = Path.Combine(root, "bad-init.yaml");
        await File.WriteAllTextAsync(spec, $"""
            name: bad-init
            seed: 5
            world_size: 2
            manifest:
              path: {manifest}
            stages:
              - name: clip
                kind: clip
                model:
                  preset: clip-mini
                init:
                  from: {weights}
                batch_size: 4
                steps: 2
            """);
        var runDir = Path.Combine(root, "run");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", runDir], TimeSpan.FromMinutes(3), output);

        Assert.True(exit != 0, $"mmcluster dev succeeded with weights that do not fit:\n{log}");
        var summary = RunSummary.Read(Path.Combine(runDir, "summary.json"));
        Assert.Equal("failed", summary.Status);
        Assert.Matches(@"worker worker-\d \(rank \d, .*\) failed: .*tensor 'logit_scale' has shape \[2\], the model expects \[\]", summary.Error);
    }

    [Fact]
    public async Task Should_count_skipped_rows_by_reason_and_leave_only_unreached_rows_missing_when_the_manifest_has_hostile_rows()
    {
        // A by-path manifest with an empty caption (row 5), a PNG whose body ends early (row 17) and an image_path outside
        // the manifest (row 33, a real image).
        var manifest = Path.Combine(root, "manifest");
        var outside = Path.Combine(root, "outside.png");
        await File.WriteAllBytesAsync(outside, GrayPng.Encode(new byte[28 * 28], 28, 28));
        await CliHarness.WriteManifestAsync(manifest, trainRows: 64, testRows: 12, storage: ManifestImageStorage.ByPath, alter: row => row.Key switch
        {
            "train-0005" => row with { Caption = " " },
            "train-0017" => row with { Image = row.Image[..(row.Image.Length / 2)] },
            "train-0033" => row with { ImagePath = "../outside.png" },
            _ => row,
        });
        var spec = Path.Combine(root, "skips.yaml");
        // 8 steps of 8 rows on each of 2 workers: each trains 64 rows, more than an epoch's 61 usable rows, so every
        // epoch-0 shard is trained to its end whoever leased it; later epochs end wherever the run stops.
        await File.WriteAllTextAsync(spec, $$"""
            name: skips
            seed: 3
            world_size: 2
            manifest: { path: {{manifest}} }
            stages:
              - { name: clip, kind: clip, model: { preset: clip-mini }, batch_size: 8, steps: 8, eval: { retrieval: { held_out: 4 } } }
            """);
        var runDir = Path.Combine(root, "run");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", runDir], TimeSpan.FromMinutes(3), output);

        Assert.True(exit == 0, $"mmcluster dev exited {exit}:\n{log}");
        var summary = RunSummary.Read(Path.Combine(runDir, "summary.json"));
        var first = summary.Ledger.Single(l => l.Epoch == 0);
        Assert.Equal((true, 61L, 3L, 0L), (first.Ran, first.SamplesCommitted, first.Skipped, first.Missing));
        var reasons = new Dictionary<string, long> { ["EmptyCaption"] = 1, ["ImageUndecodable"] = 1, ["PathOutsideManifest"] = 1 };
        Assert.Equal(reasons, first.SkippedByReason.ToDictionary());
        var file = Assert.Single(first.SkippedByFile);
        Assert.Equal(("train-00000.parquet", 64L, 61L), (file.File, file.SamplesExpected, file.SamplesCommitted));
        Assert.Equal(reasons, file.SkippedByReason.ToDictionary());
        // Every epoch that ran adds up: trained + skipped + never reached = planned; one only read ahead into has none missing.
        Assert.All(summary.Ledger, l => Assert.Equal(l.Ran ? l.SamplesExpected : 0, l.SamplesCommitted + l.Skipped + l.Missing));
        var last = MetricsJsonlWriter.Read(Path.Combine(runDir, "metrics.jsonl")).Last(p => p.Skipped.Count > 0);
        Assert.True(last.Skipped["EmptyCaption"] >= 1, $"metrics.jsonl: {string.Join(", ", last.Skipped)}");
        Assert.Contains("epoch 0: expected 64, committed 61, skipped 3 (1 EmptyCaption, 1 ImageUndecodable, 1 PathOutsideManifest), duplicates 0, missing 0", log);
    }

    [Fact]
    public async Task Should_refuse_before_starting_any_process_when_the_spec_is_invalid()
    {
        var spec = Path.Combine(root, "bad.yaml");
        await File.WriteAllTextAsync(spec, "name: bad\nstages:\n  - name: clip\n    kind: clap\n");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", Path.Combine(root, "run")], TimeSpan.FromMinutes(1), output);

        Assert.Equal(2, exit);
        Assert.Contains("bad.yaml", log);
        Assert.Contains("clap", log);
        Assert.False(Directory.Exists(Path.Combine(root, "run", "logs")));
    }

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
