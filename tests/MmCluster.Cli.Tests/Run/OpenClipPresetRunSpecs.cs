using System.Text.Json;
using MmCluster.Worker.Checkpoints;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.Run;

/// <summary>
/// OpenCLIP's ViT-B-32 as a run-spec preset: 2 worker processes train a clip stage on it, shrunk by
/// <c>model.overrides</c> to fit a test, with CLIP's BPE tokenizer; the checkpoint holds OpenCLIP's names and CLIP's
/// 49,408-row vocabulary, and its config names the tokenizer and the overridden sizes. The stage runs bf16-mixed.
/// </summary>
public sealed class OpenClipPresetRunSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-openclip-").FullName;

    [Fact]
    public async Task Should_train_a_shrunk_vit_b_32_with_clip_s_tokenizer_when_two_workers_run_it()
    {
        var manifest = Path.Combine(root, "manifest");
        await CliHarness.WriteManifestAsync(manifest, trainRows: 32, testRows: 10);
        var spec = Path.Combine(root, "vit.yaml");
        await File.WriteAllTextAsync(spec, $$"""
            name: vit-b-32-tiny
            seed: 5
            world_size: 2
            manifest: { path: {{manifest}} }
            stages:
              - name: clip
                kind: clip
                model:
                  preset: ViT-B-32
                  overrides: { image_size: 32, patch_size: 16, vision_width: 32, vision_layers: 1, vision_heads: 2,
                               text_width: 32, text_layers: 1, text_heads: 2, embed_dim: 16, context_length: 16 }
                batch_size: 4
                steps: 2
                precision: bf16-mixed
                eval: { retrieval: { held_out: 6 } }
                checkpoint_every: 2
            """);
        var runDir = Path.Combine(root, "run");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", runDir], TimeSpan.FromMinutes(4), output);

        Assert.True(exit == 0, $"mmcluster dev exited {exit}:\n{log}");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(runDir, "summary.json")));
        Assert.Equal("succeeded", summary.RootElement.GetProperty("status").GetString());
        Assert.InRange(summary.RootElement.GetProperty("eval").GetProperty("zero_shot_top1").GetDouble(), 0, 1);
        var (tensors, metadata) = SafeTensorsFile.Read(Path.Combine(runDir, "checkpoints", "clip", "step-00000002.safetensors"));
        var shapes = tensors.ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([49408, 32], shapes["token_embedding.weight"]);                // CLIP's vocabulary, the overridden width
        Assert.Equal([32, 3, 16, 16], shapes["visual.conv1.weight"]);               // RGB 32x32 in 16x16 patches
        Assert.Equal([16, 32], shapes["positional_embedding"]);                     // 16 text positions
        using var config = JsonDocument.Parse(metadata["model_config"]);
        Assert.Equal("clip-bpe", config.RootElement.GetProperty("Tokenizer").GetString());
        Assert.Equal(16, config.RootElement.GetProperty("EmbedDim").GetInt32());
        // bf16-mixed reached the trainer, and the master weights it saved are float32.
        Assert.Contains("precision bf16-mixed", await File.ReadAllTextAsync(Path.Combine(runDir, "logs", "worker-1.log")));
        Assert.All(tensors.Where(t => !t.Name.StartsWith("optim.", StringComparison.Ordinal) && t.DType != "I64" && t.Name != "rng_state"),
            t => Assert.Equal("F32", t.DType));
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
