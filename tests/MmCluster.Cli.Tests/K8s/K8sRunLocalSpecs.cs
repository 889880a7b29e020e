using System.Text.Json;
using MmCluster.Shared.Runs;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.K8s;

/// <summary>
/// The check that the manifests and the programs agree: <c>mmcluster k8s render</c> writes a tiny run's manifests,
/// <c>mmcluster k8s run-local</c> starts each container's args and env as a process (Service name on loopback, the
/// ConfigMap spec at its mount path, the Secret's token, JOB_COMPLETION_INDEX per worker), and the run trains to the end.
/// </summary>
public sealed class K8sRunLocalSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-k8s-spec-").FullName;

    [Fact]
    public async Task Should_train_to_completion_when_the_rendered_manifests_run_as_local_processes()
    {
        var data = Path.Combine(root, "volumes");
        await CliHarness.WriteManifestAsync(Path.Combine(data, "tiny-data", "manifest"), trainRows: 48, testRows: 10, seed: 11);
        var spec = Path.Combine(root, "tiny.yaml");
        await File.WriteAllTextAsync(spec, """
            name: tiny
            seed: 5
            world_size: 2
            manifest:
              path: /data/manifest
            stages:
              - name: clip
                kind: clip
                model:
                  preset: clip-mini
                batch_size: 8
                steps: 3
                optimizer:
                  lr: 1.0e-3
                eval:
                  retrieval:
                    held_out: 4
                checkpoint_every: 3
            """);
        var manifests = Path.Combine(root, "manifests");

        var (rendered, renderLog) = await CliHarness.RunAsync(["k8s", "render", "--spec", spec, "--name", "tiny", "--threads", "1", "--out", manifests], TimeSpan.FromMinutes(1), output);
        Assert.True(rendered == 0, renderLog);
        var (exit, log) = await CliHarness.RunAsync(["k8s", "run-local", manifests, "--data", data, "--timeout", "240"], TimeSpan.FromMinutes(5), output);

        Assert.True(exit == 0, $"k8s run-local exited {exit}:\n{log}");
        Assert.Contains("tiny-workers-1", log);
        var runDir = Path.Combine(data, "tiny-data", "runs", "tiny");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "summary.json")));
        Assert.Equal("succeeded", summary.RootElement.GetProperty("status").GetString());
        Assert.Equal(2, summary.RootElement.GetProperty("world_size").GetInt32());
        Assert.Equal(3 * 2 * 8, summary.RootElement.GetProperty("stages")[0].GetProperty("samples_seen").GetInt64());
        Assert.True(File.Exists(Path.Combine(runDir, "checkpoints", "clip", "step-00000003.safetensors")));
    }

    [Fact]
    public async Task Should_recreate_a_killed_worker_pod_with_its_index_and_complete_with_an_exact_ledger()
    {
        var (exit, log, runDir) = await RunRecoveryRunAsync($"kill worker-1 at step {RecoverySteps / 2 - 1}");

        Assert.True(exit == 0, $"k8s run-local exited {exit}:\n{log}");
        Assert.Contains("SIGKILL to worker-1", log);
        Assert.Contains("pod rec-workers-1 exited (SIGKILL); restarting (Job rec-workers: 1 of backoffLimit 10 failures)", log);
        Assert.Contains("pod rec-workers-1 exited 0 (recreated 1 times)", log);
        Assert.Matches(@"pod rec-workers-1 recreated at 127\.\d+\.\d+\.4 \(a new pod IP\)", log); // after the 3 planned pods' .1-.3
        var summary = AssertCompletedWithExactLedger(runDir);
        Assert.NotEmpty(summary.Recoveries);
        Assert.Equal(2, summary.Recoveries[^1].WorldSizeAfter); // the recreated pod rejoined with its index
    }

    [Fact]
    public async Task Should_restart_a_killed_coordinator_pod_that_resumes_the_run_from_its_journal()
    {
        // Checkpoints every 4 steps: the coordinator killed at step 6 or later resumes from a commit at step 4 or later.
        var (exit, log, runDir) = await RunRecoveryRunAsync($"kill coordinator at step {RecoverySteps / 2}", checkpointEvery: 4);

        Assert.True(exit == 0, $"k8s run-local exited {exit}:\n{log}");
        Assert.Contains("SIGKILL to coordinator", log);
        Assert.Contains("pod rec-coordinator exited (SIGKILL); restarting (Job rec-coordinator: 1 of backoffLimit 3 failures)", log);
        Assert.Contains("has not ended: resuming it (--resume-unfinished)", log);
        Assert.Matches(@"resuming stage 'clip' from \S+step-0000000[48]\.safetensors", log);
        Assert.Contains("pod rec-coordinator exited 0 (recreated 1 times)", log);
        // The workers did not exit: they waited for the restarted coordinator (recovery.coordinator_wait) and rejoined
        // in the same processes, so their Job recreated no pod.
        Assert.Contains("for the coordinator to come back and rejoining with the same id (recovery.coordinator_wait)", log);
        Assert.DoesNotContain("restarting (Job rec-workers", log);
        Assert.Contains("pod rec-workers-0 exited 0", log);
        Assert.DoesNotContain("pod rec-workers-0 exited 0 (recreated", log);
        AssertCompletedWithExactLedger(runDir);
    }

    [Fact]
    public async Task Should_let_a_worker_pod_recreated_after_the_run_ended_hear_it_finished_from_the_coordinator_that_stayed()
    {
        // worker-1 is killed at step 5 and its pod comes back only 70 s later: the run waits 45 s for a replacement
        // (recovery.replacement_wait), finishes the last 7 steps with worker-0 alone, and the coordinator stays 45 s more
        // for late replacements. The recreated pod registers in that window (about 10 s after the end, more than 10 s
        // before the coordinator leaves), hears the run finished and exits 0, so the workers' Job completes instead of
        // recreating a pod that waits for a coordinator that is gone.
        var (exit, log, runDir) = await RunRecoveryRunAsync($"kill worker-1 for 70s at step {RecoverySteps / 2 - 1}", replacementWait: "45s");

        Assert.True(exit == 0, $"k8s run-local exited {exit}:\n{log}");
        Assert.Contains("staying 45 s so that a replacement of a lost worker that starts late hears the run finished", log);
        Assert.Contains("Worker worker-1 registered after run", log);
        Assert.Contains("pod rec-workers-1 exited 0 (recreated 1 times)", log);
        var summary = AssertCompletedWithExactLedger(runDir);
        Assert.Equal(1, summary.Recoveries[^1].WorldSizeAfter); // the stage ended without it
        Assert.True(Guid.TryParse(Assert.Single(summary.WorkerJobs), out _)); // the workers' Job, for a later replacement
    }

    private const int RecoverySteps = 12;

    /// <summary>
    /// The recovery run's layout (CliHarness.WriteRecoveryRunAsync) rendered as manifests and run locally under
    /// <paramref name="chaos"/>: 64 rows in shards of 16, a global batch of 16, so 12 steps are exactly epochs 0, 1 and 2.
    /// </summary>
    private async Task<(int Exit, string Log, string RunDir)> RunRecoveryRunAsync(string chaos, int checkpointEvery = 0, string replacementWait = "120s")
    {
        var data = Path.Combine(root, "volumes");
        await CliHarness.WriteManifestAsync(Path.Combine(data, "rec-data", "manifest"), trainRows: 64, testRows: 12);
        var spec = Path.Combine(root, "rec.yaml");
        var checkpoints = checkpointEvery > 0 ? $", checkpoint_every: {checkpointEvery}" : "";
        await File.WriteAllTextAsync(spec, $$"""
            name: rec
            seed: 3
            world_size: 2
            manifest: { path: /data/manifest }
            recovery: { min_workers: 1, replacement_wait: {{replacementWait}}, collective_deadline: 20s }
            stages:
              - { name: clip, kind: clip, model: { preset: clip-mini }, batch_size: 8, steps: {{RecoverySteps}}, eval: { retrieval: { held_out: 4 } }{{checkpoints}} }
            """);
        var manifests = Path.Combine(root, "manifests");
        var (rendered, renderLog) = await CliHarness.RunAsync(["k8s", "render", "--spec", spec, "--name", "rec", "--threads", "1", "--out", manifests], TimeSpan.FromMinutes(1), output);
        Assert.True(rendered == 0, renderLog);
        var (exit, log) = await CliHarness.RunAsync(
            ["k8s", "run-local", manifests, "--data", data, "--timeout", "240", "--chaos", chaos], TimeSpan.FromMinutes(5), output);
        return (exit, log, Path.Combine(data, "rec-data", "runs", "rec"));
    }

    private static RunSummary AssertCompletedWithExactLedger(string runDir)
    {
        var summary = RunSummary.Read(Path.Combine(runDir, "summary.json"));
        Assert.Equal("succeeded", summary.Status);
        Assert.Equal((StageState.Done, (long)RecoverySteps), (Assert.Single(summary.Stages).State, summary.Stages[0].Steps));
        Assert.True(summary.Ledger.Where(l => l.Ran).Select(l => l.Epoch).SequenceEqual([0, 1, 2]),
            $"the epochs that ran are not 0, 1 and 2: {File.ReadAllText(Path.Combine(runDir, "summary.json"))}");
        Assert.All(summary.Ledger, l => Assert.True(l.Duplicates == 0 && l.Missing == 0,
            $"epoch {l.Epoch}: expected {l.SamplesExpected}, committed {l.SamplesCommitted}, duplicates {l.Duplicates}, missing {l.Missing}"));
        return summary;
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
