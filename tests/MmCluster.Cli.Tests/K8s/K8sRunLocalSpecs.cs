using System.Diagnostics;
using System.Text.Json;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
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
        await WriteManifestAsync(Path.Combine(data, "tiny-data", "manifest"));
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

        var (rendered, renderLog) = await RunCliAsync(["k8s", "render", "--spec", spec, "--name", "tiny", "--threads", "1", "--out", manifests], TimeSpan.FromMinutes(1));
        Assert.True(rendered == 0, renderLog);
        var (exit, log) = await RunCliAsync(["k8s", "run-local", manifests, "--data", data, "--timeout", "240"], TimeSpan.FromMinutes(5));

        Assert.True(exit == 0, $"k8s run-local exited {exit}:\n{log}");
        Assert.Contains("tiny-workers-1", log);
        var runDir = Path.Combine(data, "tiny-data", "runs", "tiny");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "summary.json")));
        Assert.Equal("succeeded", summary.RootElement.GetProperty("status").GetString());
        Assert.Equal(2, summary.RootElement.GetProperty("world_size").GetInt32());
        Assert.Equal(3 * 2 * 8, summary.RootElement.GetProperty("stages")[0].GetProperty("samples_seen").GetInt64());
        Assert.True(File.Exists(Path.Combine(runDir, "checkpoints", "clip", "step-00000003.safetensors")));
    }

    private static async Task WriteManifestAsync(string folder)
    {
        var random = new Random(11);
        foreach (var (split, rows) in new[] { ("train", 48), ("test", 10) })
        {
            await using var writer = new ParquetManifestWriter(folder, new ParquetManifestWriterOptions { FilePrefix = split, RowsPerGroup = 16, HasLabel = true, HasSplit = true });
            for (var i = 0; i < rows; i++)
            {
                var pixels = new byte[28 * 28];
                random.NextBytes(pixels);
                var caption = CaptionTemplates.Render(CaptionTemplates.Training[i % CaptionTemplates.Training.Count], ClassNames.FashionMnist[i % 10]);
                await writer.AddAsync(new ManifestRow($"{split}-{i:D4}", caption, GrayPng.Encode(pixels, 28, 28), i % 10, split));
            }
        }
    }

    private async Task<(int Exit, string Log)> RunCliAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mmcluster.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var lines = new List<string>();
        void Collect(object _, DataReceivedEventArgs e)
        {
            if (e.Data is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        }
        process.OutputDataReceived += Collect;
        process.ErrorDataReceived += Collect;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mmcluster {string.Join(' ', args)} did not finish in {timeout}:\n{string.Join('\n', lines)}");
        }
        process.WaitForExit();
        string log;
        lock (lines)
        {
            log = string.Join('\n', lines);
        }
        output.WriteLine(log);
        return (process.ExitCode, log);
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
