using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.Run;

/// <summary>
/// The instruction-tuned recipes across a real dev cluster at tiny size: 2 worker processes run every new stage kind in
/// one schedule (clip -> lm -> llava-align -> llava-instruct; blip2-stage1 -> blip2-stage2 -> instructblip; plora) on a
/// manifest with conversations, each stage handing its committed checkpoint to the next, and <c>mmcluster ask</c>
/// answers a question with each chat stage's checkpoint.
/// </summary>
public sealed class ChatScheduleSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("mmcluster-chat-").FullName;

    [Fact]
    public async Task Should_run_llava_instructblip_and_plora_stages_and_answer_with_each_checkpoint_when_two_workers_run_them()
    {
        var manifest = Path.Combine(root, "manifest");
        await CliHarness.WriteManifestAsync(manifest, trainRows: 64, testRows: 12, conversations: true);
        var spec = Path.Combine(root, "chat.yaml");
        const string Lm = "{ preset: lm-chat, overrides: { layers: 1, width: 32, heads: 2 } }";
        const string QFormer = "{ preset: blip2-tiny, overrides: { num_query_tokens: 4, width: 32, heads: 2, embed_dim: 16 } }";
        await File.WriteAllTextAsync(spec, $$"""
            name: tiny-chat
            seed: 5
            world_size: 2
            manifest:
              path: {{manifest}}
            stages:
              - { name: clip, kind: clip, model: { preset: clip-mini }, batch_size: 8, steps: 2, eval: { retrieval: { held_out: 8 } } }
              - { name: lm, kind: lm, model: {{Lm}}, batch_size: 8, steps: 2, question_noise: 0.2 }
              - name: llava-align
                kind: llava-align
                depends_on: [clip, lm]
                model: { preset: llava-tiny, overrides: { max_answer_tokens: 4 } }
                init: { from: [clip, lm], freeze: [visual, lm] }
                batch_size: 8
                steps: 2
                eval: { retrieval: { held_out: 8 } }
              - name: llava-instruct
                kind: llava-instruct
                depends_on: [llava-align]
                model: { preset: llava-tiny, overrides: { max_answer_tokens: 4 } }
                init: { from: llava-align, freeze: [visual] }
                batch_size: 8
                steps: 2
                eval: { retrieval: { held_out: 8 } }
              - name: blip2-stage1
                kind: blip2-stage1
                depends_on: [clip]
                model: {{QFormer}}
                init: { from: clip, freeze: [visual] }
                batch_size: 8
                steps: 2
                eval: { retrieval: { held_out: 8 } }
              - name: blip2-stage2
                kind: blip2-stage2
                depends_on: [blip2-stage1, lm]
                model: {{QFormer}}
                init: { from: [blip2-stage1, lm], freeze: [visual, lm] }
                batch_size: 8
                steps: 2
              - name: instructblip
                kind: instructblip
                depends_on: [blip2-stage2]
                model: {{QFormer}}
                init: { from: blip2-stage2, freeze: [visual, lm] }
                batch_size: 8
                steps: 2
                eval: { retrieval: { held_out: 8 } }
              - name: plora
                kind: plora
                depends_on: [clip, lm]
                model: { preset: plora-tiny, overrides: { lora_rank: 4, lora_alpha: 8, max_answer_tokens: 4 } }
                init: { from: [clip, lm], freeze: [visual, lm] }
                batch_size: 8
                steps: 2
                question_noise: 0.2
                eval: { retrieval: { held_out: 8 } }
            """);
        var runDir = Path.Combine(root, "run");

        var (exit, log) = await CliHarness.RunAsync(["dev", "--spec", spec, "--workers", "2", "--run-dir", runDir], TimeSpan.FromMinutes(6), output);

        Assert.True(exit == 0, $"mmcluster dev exited {exit}:\n{log}");
        var summary = RunSummary.Read(Path.Combine(runDir, "summary.json"));
        Assert.Equal("succeeded", summary.Status);
        Assert.All(summary.Stages, s => Assert.Equal((StageState.Done, 2L), (s.State, s.Steps)));
        var stages = summary.Stages.ToDictionary(s => s.Name);
        Assert.InRange(stages["llava-align"].Eval["names_class"], 0, 1);
        Assert.Equal(8, stages["llava-align"].Eval["described_images"]);
        foreach (var chat in new[] { "llava-instruct", "instructblip", "plora" })
        {
            var eval = stages[chat].Eval;
            Assert.True(double.IsFinite(stages[chat].Losses["lm"]), $"{chat} has no finite loss");
            Assert.InRange(eval["answer_accuracy"], 0, 1);
            Assert.True(eval["questions"] >= 16, $"{chat} asked {eval["questions"]} questions of 8 test images with 2-3 each");
            Assert.Equal(0, eval["conversations.unaligned"]);
        }
        Assert.True(double.IsFinite(stages["lm"].Eval["perplexity"]));
        // question_noise reaches the trainers of the two stages that set it (lm and plora), and only those.
        var workerLog = await File.ReadAllTextAsync(Path.Combine(runDir, "logs", "worker-0.log"));
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(workerLog, @"question noise: 20 ?% of the training questions' tokens"));

        var png = Path.Combine(root, "item.png");
        await File.WriteAllBytesAsync(png, GrayPng.Encode(new byte[28 * 28], 28, 28));
        foreach (var (stage, kind) in new[] { ("llava-instruct", "llava-instruct"), ("instructblip", "instructblip"), ("plora", "plora") })
        {
            var (askExit, answer) = await CliHarness.RunAsync(
                ["ask", "--checkpoint", runDir, "--stage", stage, "--max-tokens", "4", "--device", "cpu", png, "What is the item in the image?"], TimeSpan.FromMinutes(1), output);
            Assert.True(askExit == 0, $"mmcluster ask ({stage}) exited {askExit}:\n{answer}");
            Assert.Contains($"({kind}) on cpu", answer);
        }
        var (unknownExit, unknown) = await CliHarness.RunAsync(
            ["ask", "--checkpoint", runDir, "--stage", "plora", png, "Zyzzyva quux?"], TimeSpan.FromMinutes(1), output);
        Assert.NotEqual(0, unknownExit);
        Assert.Contains("has words this model never saw", unknown);
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
