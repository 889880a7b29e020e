using MmCluster.Collectives.InProcess;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Training;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>
/// Zero-shot scored against the stage's own class names (<c>eval.zero_shot.classes</c>) on a small labelled manifest,
/// with real tensors; and, when the held-out rows cannot be scored, one log line naming the row instead of silence.
/// </summary>
public sealed class StageEvaluatorSpecs : IDisposable
{
    private static readonly ClipConfig Config = ClipConfig.Micro with { VocabSize = 50257, ImageSize = 28, PatchSize = 7 };
    private static readonly string[] Classes = ["Aqua", "Dune", "Storm"];
    private static readonly string[] Templates = ["a picture of {}.", "an image showing {}."];
    private readonly string _root = Directory.CreateTempSubdirectory("mmcluster-zeroshot-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Should_score_top1_against_the_stage_classes_when_every_held_out_row_has_a_label_among_them()
    {
        var set = await LoadAsync(labels: [0, 1, 2, 0, 1, 2]);
        random.manual_seed(41);
        using var model = new ClipModel(Config);
        var predicted = Predict(model, set);
        var logs = new List<string>();

        var right = Evaluator(model, set with { Labels = predicted }, logs).Evaluate();
        var wrong = Evaluator(model, set with { Labels = [.. predicted.Select(p => (p + 1) % Classes.Length)] }, logs).Evaluate();

        Assert.Equal((1.0, 6.0), (right["zero_shot_top1"], right["zero_shot_images"]));
        Assert.Equal(0.0, wrong["zero_shot_top1"]);
        Assert.Empty(logs);
    }

    [Fact]
    public async Task Should_log_once_naming_the_row_and_report_no_top1_when_a_label_is_beyond_the_class_list()
    {
        var set = await LoadAsync(labels: [0, 1, 2, 7, 1, 2]);
        using var model = new ClipModel(Config);
        var logs = new List<string>();
        var evaluator = Evaluator(model, set, logs);

        var first = evaluator.Evaluate();
        var second = evaluator.Evaluate();

        Assert.False(first.ContainsKey("zero_shot_top1"));
        Assert.False(second.ContainsKey("zero_shot_top1"));
        var log = Assert.Single(logs);
        Assert.Contains("zero-shot not scored: held-out row 'photo-3' has label 7, but the stage names 3 classes (labels 0 to 2: Aqua, Dune, Storm)", log);
    }

    [Fact]
    public async Task Should_log_the_first_row_without_a_label_when_the_manifest_has_unlabelled_rows()
    {
        var set = await LoadAsync(labels: [0, null, 2, null, 1, 2]);
        using var model = new ClipModel(Config);
        var logs = new List<string>();

        var metrics = Evaluator(model, set, logs).Evaluate();

        Assert.False(metrics.ContainsKey("zero_shot_top1"));
        Assert.Contains("held-out row 'photo-1' has no label", Assert.Single(logs));
    }

    [Fact]
    public async Task Should_report_no_top1_on_any_rank_when_one_rank_cannot_score_its_slice()
    {
        var groups = InProcessCollectiveGroup.Create(2);
        var scorable = await LoadAsync(labels: [0, 1, 2]);
        var unlabelled = scorable with { Labels = [0, -1, 2] };
        random.manual_seed(42);
        using var model0 = new ClipModel(Config);
        using var model1 = new ClipModel(Config);
        var logs = new List<string>();

        var ranks = await Task.WhenAll(
            Task.Run(() => new StageEvaluator(model0, Tokenizer, groups[0], StageConfig(), scorable, _ => { }).Evaluate()),
            Task.Run(() => new StageEvaluator(model1, Tokenizer, groups[1], StageConfig(), unlabelled, logs.Add).Evaluate()));

        Assert.All(ranks, metrics => Assert.False(metrics.ContainsKey("zero_shot_top1")));
        Assert.Contains("held-out row 'photo-1' has no label", Assert.Single(logs));
    }

    private static CaptionTokenizer Tokenizer { get; } = new(Config.ContextLength);

    private StageEvaluator Evaluator(ClipModel model, EvaluationSet set, List<string> logs) =>
        new(model, Tokenizer, InProcessCollectiveGroup.Single(), StageConfig(), set, logs.Add);

    private StageConfig StageConfig() => new()
    {
        RunId = "r", RunDirectory = _root, Stage = "clip", Kind = "clip", Preset = "clip-tiny", ManifestPath = Path.Combine(_root, "manifest"),
        ClassNames = Classes, ZeroShotTemplates = Templates, RetrievalHeldOut = 1,
    };

    /// <summary>The reference: each class's prompts encoded, averaged and renormalized; each image's most similar class.</summary>
    private static int[] Predict(ClipModel model, EvaluationSet set)
    {
        using var scope = NewDisposeScope();
        var evaluator = new ClipEvaluator(model, Tokenizer);
        var images = evaluator.EncodeImages(set.Pixels, set.Count);
        var weights = stack(Classes.Select(c =>
        {
            var prompts = evaluator.EncodeTexts([.. Templates.Select(t => t.Replace("{}", c, StringComparison.Ordinal))]);
            return nn.functional.normalize(prompts.mean([0]), dim: 0);
        }));
        var similarity = images.matmul(weights.t());   // (N, D) @ (D, C) -> (N, C)
        return [.. similarity.argmax(1).data<long>().Select(p => (int)p)];
    }

    /// <summary>A manifest of test rows photo-0.. with the given labels (null: no label), read back as rank 0 of 1.</summary>
    private async Task<EvaluationSet> LoadAsync(int?[] labels)
    {
        var manifest = Path.Combine(_root, "manifest");
        if (Directory.Exists(manifest))
        {
            Directory.Delete(manifest, recursive: true);
        }
        var options = new ParquetManifestWriterOptions { HasLabel = true, HasSplit = true };
        await using (var writer = new ParquetManifestWriter(manifest, options))
        {
            for (var i = 0; i < labels.Length; i++)
            {
                var pixels = Enumerable.Range(0, 28 * 28).Select(p => (byte)((p * (i + 3) + i * 40) % 256)).ToArray();
                await writer.AddAsync(new ManifestRow($"photo-{i}", $"a photograph, number {i}", GrayPng.Encode(pixels, 28, 28), labels[i], "test"));
            }
        }
        return await EvaluationSet.LoadAsync(StageConfig(), ImageDecoder.For(Config), rank: 0, world: 1, CancellationToken.None);
    }
}
