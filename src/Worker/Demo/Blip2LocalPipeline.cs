using System.Diagnostics;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Training;
using TorchSharp;

namespace MmCluster.Worker.Demo;

/// <summary>
/// The whole BLIP-2 schedule in one process on Fashion-MNIST, each stage handing a safetensors checkpoint to the next by
/// name exactly as the cluster stages will: clip (trains the image encoder), lm (the stand-in LLM on the captions),
/// blip2-stage1 (ViT frozen; ITC+ITM+ITG), blip2-stage2 (ViT and LM frozen; captioning). Reports each stage's training time
/// and the evaluations: the place where the demo's settings were chosen.
/// </summary>
public static class Blip2LocalPipeline
{
    public static Blip2LocalReport Run(Blip2LocalSettings settings, Action<string>? log = null)
    {
        torch.set_num_threads(settings.Threads);
        torch.random.manual_seed(settings.Seed);
        Directory.CreateDirectory(settings.OutputDirectory);
        var train = FashionMnist.Load(settings.DataDirectory, "train");
        var test = FashionMnist.Load(settings.DataDirectory, "t10k");
        var clipConfig = ClipConfig.FromPreset(settings.ClipPreset);
        var tokenizer = new CaptionTokenizer(clipConfig.ContextLength);
        var batches = new FashionMnistCaptions(train, tokenizer, settings.Seed);
        var vocabulary = CaptionVocabulary.FromRows(batches.Captions.SelectMany(c => c));
        log?.Invoke($"caption vocabulary: {vocabulary.Count} GPT-2 ids");
        var lmConfig = CaptionLmConfig.FromPreset(settings.LmPreset) with { VocabSize = vocabulary.Count };
        var qformerConfig = QFormerConfig.FromPreset(settings.QFormerPreset) with { TextVocabSize = vocabulary.Count };
        var held = new FashionMnistCaptions(test, tokenizer, settings.Seed);
        var stages = new List<Blip2LocalReport.Stage>();
        string Checkpoint(string stage) => Path.Combine(settings.OutputDirectory, $"{stage}.safetensors");
        bool Reused(string stage) => settings.ReuseCheckpoints && File.Exists(Checkpoint(stage));

        if (!Reused("clip"))
        {
            using var clip = new ClipModel(clipConfig);
            var options = Options(settings, settings.ClipLearningRate, settings.ClipSteps);
            using var step = new TrainStep(clip, options, SingleRankGatherer.Instance);
            stages.Add(Train("clip", settings.ClipSteps, settings, log, () =>
            {
                var r = step.Run(batches.Next(settings.BatchSize));
                return new StageStepResult(r.Step, r.Loss, r.LearningRate, r.GradNorm, new Dictionary<string, float> { ["clip"] = r.Loss });
            }));
            ModuleCheckpoint.Save(Checkpoint("clip"), clip, new Dictionary<string, string> { ["stage"] = "clip" });
        }

        if (!Reused("lm"))
        {
            using var lm = new CaptionLm(lmConfig);
            using var step = new LmTrainStep(lm, Options(settings, settings.LmLearningRate, settings.LmSteps));
            stages.Add(Train("lm", settings.LmSteps, settings, log, () => step.Run(vocabulary.Compact(batches.Next(settings.BatchSize)))));
            ModuleCheckpoint.Save(Checkpoint("lm"), lm, new Dictionary<string, string> { ["stage"] = "lm", ["vocabulary"] = string.Join(',', vocabulary.Ids) });
        }

        Blip2RetrievalResult retrieval;
        using (var stage1 = new Blip2Stage1Model(clipConfig, qformerConfig))
        {
            if (Reused("blip2-stage1"))
            {
                WeightLoader.Load(stage1, Checkpoint("blip2-stage1"));
            }
            else
            {
                WeightLoader.Load(stage1, Checkpoint("clip"), "visual.", "visual.");
                using var step = new Blip2Stage1Step(stage1, Options(settings, settings.Stage1LearningRate, settings.Stage1Steps), SingleRankGatherer.Instance, samplingSeed: settings.Seed);
                stages.Add(Train("blip2-stage1", settings.Stage1Steps, settings, log, () => step.Run(vocabulary.Compact(batches.Next(settings.BatchSize)))));
                ModuleCheckpoint.Save(Checkpoint("blip2-stage1"), stage1, new Dictionary<string, string> { ["stage"] = "blip2-stage1" });
            }
            retrieval = Blip2Evaluator.Retrieval(stage1, vocabulary.Compact(held.Slice(0, settings.RetrievalPairs)));
            log?.Invoke($"blip2-stage1: {retrieval}");
        }

        using var stage2 = new Blip2Stage2Model(clipConfig, qformerConfig, lmConfig);
        foreach (var prefix in new[] { Blip2Base.VisualEncoder, Blip2Base.VisionNorm, Blip2Base.QFormerModule }.Select(m => $"{m}."))
        {
            WeightLoader.Load(stage2, Checkpoint("blip2-stage1"), prefix, prefix);
        }
        WeightLoader.Load(stage2, Checkpoint("lm"), "", $"{Blip2Stage2Model.LanguageModelModule}.");
        using (var step = new Blip2Stage2Step(stage2, Options(settings, settings.Stage2LearningRate, settings.Stage2Steps)))
        {
            stages.Add(Train("blip2-stage2", settings.Stage2Steps, settings, log, () => step.Run(vocabulary.Compact(batches.Next(settings.BatchSize)))));
        }
        ModuleCheckpoint.Save(Checkpoint("blip2-stage2"), stage2, new Dictionary<string, string> { ["stage"] = "blip2-stage2" });
        var watch = Stopwatch.StartNew();
        var captions = Blip2Evaluator.Captions(stage2, held.Slice(0, settings.CaptionImages), FashionMnist.ClassNames, tokenizer, vocabulary);
        log?.Invoke($"blip2-stage2: names the right class in {captions.NamesRightClassRate:P1} of {captions.Images} test images ({watch.Elapsed.TotalSeconds:F0}s to caption); e.g. {string.Join(" | ", captions.Captions.Take(5))}");
        var samples = held.Slice(0, 5);
        var beams = new List<string>();
        for (var i = 0; i < samples.Count; i++)
        {
            using var image = torch.tensor(samples.Pixels.AsSpan(i * FashionMnist.Pixels, FashionMnist.Pixels).ToArray(), [1, 1, FashionMnist.Side, FashionMnist.Side]);
            var ids = CaptionGenerator.Beam(stage2, image, beams: 3, maxTokens: 16);
            beams.Add($"{FashionMnist.ClassNames[samples.Labels[i]]}: {tokenizer.Decode([.. vocabulary.ToGpt2(ids), CaptionTokenizer.EndOfText])}");
        }
        log?.Invoke($"beam 3: {string.Join(" | ", beams)}");
        return new Blip2LocalReport(stages, retrieval, captions, beams);
    }

    private static TrainOptions Options(Blip2LocalSettings settings, double lr, int steps) => new()
    {
        LearningRate = lr, WarmupSteps = Math.Min(settings.WarmupSteps, Math.Max(1, steps / 5)), TotalSteps = steps,
    };

    private static Blip2LocalReport.Stage Train(string name, int steps, Blip2LocalSettings settings, Action<string>? log, Func<StageStepResult> step)
    {
        var watch = Stopwatch.StartNew();
        StageStepResult? last = null;
        for (var i = 0; i < steps; i++)
        {
            last = step();
            if (last.Step % settings.LogEvery == 0 || i == steps - 1)
            {
                var parts = string.Join(" ", last.Losses.Select(kv => $"{kv.Key} {kv.Value:F3}"));
                log?.Invoke($"{name} step {last.Step} loss {last.Loss:F3} ({parts}) lr {last.LearningRate:E2} grad-norm {last.GradNorm:F2} t {watch.Elapsed.TotalSeconds:F0}s");
            }
        }
        return new Blip2LocalReport.Stage(name, steps, watch.Elapsed.TotalSeconds, last?.Losses ?? new Dictionary<string, float>());
    }
}
