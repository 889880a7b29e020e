using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// Turns a validated run spec into the ordered list of <see cref="StageConfig"/>s the coordinator drives over the same
/// workers (<see cref="StageGraph"/> order), with concrete step counts, and resolves a stage's <c>init.from</c> stages to
/// their latest committed checkpoints when that stage is about to start.
/// </summary>
public static class StageSchedule
{
    public static IReadOnlyList<StageConfig> Build(RunSpec spec, StageScheduleInputs inputs)
    {
        var graph = StageGraph.Build(spec.Stages.Select(s => new StageNode(s.Name!, s.DependsOn)).ToList());
        var names = spec.Stages.Select(s => s.Name!).ToHashSet(StringComparer.Ordinal);
        var configs = new List<StageConfig>(graph.Order.Count);
        foreach (var name in graph.Order)
        {
            var index = spec.Stages.ToList().FindIndex(s => s.Name == name);
            var stage = spec.Stages[index];
            var batch = stage.BatchSize!.Value;
            var stepsPerEpoch = inputs.TrainRows / ((long)inputs.WorldSize * batch);
            if (stepsPerEpoch == 0)
            {
                throw new InvalidOperationException(
                    $"{spec.Source.FilePath}: stages[{index}].batch_size (stage '{name}'): {inputs.WorldSize} workers x {batch} = {inputs.WorldSize * batch} samples per step, but split '{spec.Manifest!.TrainSplit}' of {inputs.ManifestPath} has only {inputs.TrainRows} rows");
            }
            configs.Add(new StageConfig
            {
                RunId = inputs.RunId,
                RunDirectory = Path.GetFullPath(inputs.RunDirectory),
                Stage = name,
                Kind = stage.Kind!.Value.ToName(),
                Preset = stage.Model!.Preset!,
                ModelOverrides = stage.Model.Overrides,
                StageIndex = configs.Count,
                StageCount = graph.Order.Count,
                Init = (stage.Init?.From ?? []).Select(from => names.Contains(from)
                    ? new StageInit { From = from, Stage = from }
                    : new StageInit { From = from, Checkpoint = spec.ResolvePath(from) }).ToList(),
                Freeze = stage.Init?.Freeze ?? [],
                ManifestPath = inputs.ManifestPath,
                ImageRoot = spec.Manifest!.ImageRoot is { } root ? spec.ResolvePath(root) : null,
                ReadLimits = spec.Manifest.Limits,
                DuplicateKeys = spec.Manifest.DuplicateKeys,
                Columns = spec.Manifest.Columns,
                TrainSplit = spec.Manifest!.TrainSplit,
                TestSplit = spec.Manifest.TestSplit,
                UnsplitTestFraction = spec.Manifest.TestFraction,
                Vocabulary = spec.Manifest.Vocabulary,
                Seed = spec.Seed,
                BatchSize = batch,
                GlobalBatchSize = inputs.WorldSize * batch,
                TotalSteps = stage.Steps ?? stage.Epochs!.Value * stepsPerEpoch,
                StepsPerEpoch = stepsPerEpoch,
                LearningRate = stage.Optimizer.Lr,
                WeightDecay = stage.Optimizer.WeightDecay,
                Beta1 = stage.Optimizer.Beta1,
                Beta2 = stage.Optimizer.Beta2,
                Eps = stage.Optimizer.Eps,
                WarmupSteps = stage.Schedule.WarmupSteps,
                Cosine = stage.Schedule.Cosine,
                GradClip = stage.GradClip ?? 1.0,
                GradientWire = stage.GradientWire ?? GradientWire.Float32,
                GradientOverlap = stage.GradientOverlap ?? true,
                QuestionNoise = stage.QuestionNoise ?? 0,
                Precision = stage.Precision ?? StagePrecision.Fp32,
                DecodeThreads = stage.DecodeThreads ?? 1,
                RandomShift = stage.RandomShift ?? 0,
                EvalEvery = stage.Eval.EverySteps ?? 0,
                ZeroShotTemplates = stage.Eval.ZeroShotTemplates.Count > 0 ? stage.Eval.ZeroShotTemplates : CaptionTemplates.HeldOut,
                // The stage's own eval.zero_shot.classes (or classes_file), else what the manifest's import recorded.
                ClassNames = ZeroShotClasses.Resolve(spec, stage.Eval) ?? inputs.ClassNames ?? ClassNames.FashionMnist,
                RetrievalHeldOut = stage.Eval.RetrievalHeldOut ?? 1000,
                CheckpointEvery = stage.CheckpointEvery ?? 0,
                Threads = inputs.Threads,
                CollectiveDeadline = spec.Recovery is { Enabled: true } recovery ? recovery.CollectiveDeadline : null,
            });
        }
        return configs;
    }

    /// <summary>Where a stage's checkpoints go: <c>&lt;run&gt;/checkpoints/&lt;stage&gt;</c>.</summary>
    public static string CheckpointDirectory(string runDirectory, string stage) => Path.Combine(runDirectory, "checkpoints", stage);

    /// <summary>
    /// Where a resumed run continues: the first stage (schedule order) without a committed checkpoint at its last step,
    /// from its latest committed checkpoint (null: it starts fresh, every earlier stage being done). Throws when there is
    /// nothing to resume (no checkpoint of the first stage, or every stage finished).
    /// </summary>
    public static (int StartAt, string? Checkpoint) ResumePoint(IReadOnlyList<StageConfig> configs)
    {
        for (var i = 0; i < configs.Count; i++)
        {
            var directory = CheckpointDirectory(configs[i].RunDirectory, configs[i].Stage);
            var latest = LedgerSidecar.LatestCommitted(directory);
            if (latest is null && i == 0)
            {
                throw new InvalidOperationException($"--resume: no committed checkpoint under {directory}");
            }
            if (latest is null || CheckpointStep(latest) < configs[i].TotalSteps)
            {
                return (i, latest);
            }
        }
        throw new InvalidOperationException(
            $"--resume: every stage has its final checkpoint under {Path.Combine(configs[0].RunDirectory, "checkpoints")}; nothing to resume");
    }

    private static long CheckpointStep(string path) =>
        long.Parse(Path.GetFileNameWithoutExtension(path)["step-".Length..], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// <paramref name="config"/> with every <c>init.from</c> stage resolved to that stage's latest committed checkpoint;
    /// throws <see cref="InvalidOperationException"/> naming the stage and the missing checkpoint or file.
    /// </summary>
    public static StageConfig ResolveInit(StageConfig config)
    {
        var resolved = new List<StageInit>(config.Init.Count);
        foreach (var init in config.Init)
        {
            if (init.Stage is { } from)
            {
                var directory = CheckpointDirectory(config.RunDirectory, from);
                var checkpoint = LedgerSidecar.LatestCommitted(directory)
                    ?? throw new InvalidOperationException(
                        $"stage '{config.Stage}' starts from stage '{from}', but there is no committed checkpoint of '{from}' under {directory} (step-*.safetensors with its .ledger.pb)");
                resolved.Add(init with { Checkpoint = checkpoint });
            }
            else if (init.Checkpoint is not { } file || !File.Exists(file))
            {
                throw new InvalidOperationException($"stage '{config.Stage}' starts from '{init.From}', but the file {init.Checkpoint} does not exist");
            }
            else
            {
                resolved.Add(init);
            }
        }
        return config with { Init = resolved };
    }
}

/// <summary>What <see cref="StageSchedule.Build"/> needs besides the spec: the run's identity and the manifest's size.</summary>
public sealed record StageScheduleInputs
{
    public required string RunId { get; init; }

    public required string RunDirectory { get; init; }

    /// <summary>The resolved manifest folder.</summary>
    public required string ManifestPath { get; init; }

    /// <summary>Rows of the train split (from the Parquet footers).</summary>
    public required long TrainRows { get; init; }

    public required int WorldSize { get; init; }

    public int Threads { get; init; } = 1;

    public IReadOnlyList<string>? ClassNames { get; init; }
}
