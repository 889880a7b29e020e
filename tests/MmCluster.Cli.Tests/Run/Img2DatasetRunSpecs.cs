using System.Text.Json;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Tests.Manifest;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.Run;

/// <summary>
/// img2dataset's Parquet output trains in place: no split column, no label, its own column names (key, jpg, txt, url,
/// width, height). The spec maps the columns and sends a share of the rows to test by key hash; 2 worker processes
/// train and evaluate retrieval on those rows, and the files are left as they were.
/// </summary>
public sealed class Img2DatasetRunSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-img2dataset-").FullName;

    [Fact]
    public async Task Should_train_on_img2dataset_parquet_without_rewriting_it_when_the_spec_maps_its_columns()
    {
        var manifest = Path.Combine(root, "img2dataset");
        await WriteImg2DatasetAsync(Path.Combine(manifest, "00000.parquet"), 0, 40);
        await WriteImg2DatasetAsync(Path.Combine(manifest, "00001.parquet"), 40, 40);
        var before = Directory.GetFiles(manifest).ToDictionary(f => f, File.ReadAllBytes);
        var spec = Path.Combine(root, "img2dataset.yaml");
        await File.WriteAllTextAsync(spec, $$"""
            name: img2dataset
            seed: 9
            world_size: 2
            manifest:
              path: {{manifest}}
              columns: { image: jpg, caption: txt, key: key }
              test_fraction: 0.25
            stages:
              - name: clip
                kind: clip
                model: { preset: clip-mini }
                batch_size: 8
                steps: 6
                eval: { retrieval: { held_out: 12 } }
            """);
        var runDir = Path.Combine(root, "run");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", runDir], TimeSpan.FromMinutes(4), output);

        Assert.True(exit == 0, $"mmcluster dev exited {exit}:\n{log}");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "summary.json")));
        Assert.Equal("succeeded", summary.RootElement.GetProperty("status").GetString());
        var stage = summary.RootElement.GetProperty("stages")[0];
        Assert.Equal(6 * 2 * 8, stage.GetProperty("samples_seen").GetInt64());       // more than the ~60 training rows: epoch 0 completes
        var eval = summary.RootElement.GetProperty("eval");
        Assert.InRange(eval.GetProperty("i2t_r1").GetDouble(), 0, 1);                                    // retrieval on the test share
        Assert.False(eval.TryGetProperty("zero_shot_top1", out _), "no labels: no zero-shot score (it was a 0 before)");
        Assert.All(before, file => Assert.Equal(file.Value, File.ReadAllBytes(file.Key)));                 // nothing rewritten
        // The held-out rows are accounted for in epoch 0's ledger as the other split, not missing.
        var epoch = summary.RootElement.GetProperty("ledger")[0];
        Assert.Equal(0, epoch.GetProperty("missing").GetInt64());
        var otherSplit = epoch.GetProperty("skipped_by_reason").GetProperty("OtherSplit").GetInt64();
        Assert.InRange(otherSplit, 1, 79);
        Assert.Equal(80, epoch.GetProperty("samples_committed").GetInt64() + epoch.GetProperty("skipped").GetInt64());
    }

    /// <summary>img2dataset's files (<see cref="Img2DatasetParquet"/>) with real 28x28 PNGs, captions naming a digit.</summary>
    private static Task WriteImg2DatasetAsync(string path, int first, int count)
    {
        var keys = Enumerable.Range(first, count).Select(i => $"{i:D9}").ToArray();
        var images = Enumerable.Range(first, count)
            .Select(i => (byte[]?)GrayPng.Encode([.. Enumerable.Range(0, 28 * 28).Select(p => (byte)(p * (i + 3) % 251))], 28, 28)).ToArray();
        return Img2DatasetParquet.WriteAsync(path, keys, images, [.. Enumerable.Range(first, count).Select(i => $"a photo numbered {i % 10}")], 28, 28);
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
