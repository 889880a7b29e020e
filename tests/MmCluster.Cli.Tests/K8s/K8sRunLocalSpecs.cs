using System.Text.Json;
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
