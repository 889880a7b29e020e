using System.Text.RegularExpressions;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Text;

namespace MmCluster.Shared.Spec;

/// <summary>
/// Every check a run spec must pass before any process starts: required fields, ranges, presets, the stage graph
/// (names, dependencies, cycles), stage inputs (<c>init.from</c>) and the files the run will read. Reports all problems
/// at once, each with its YAML path and, when the spec came from a file, its line.
/// </summary>
public sealed partial class RunSpecValidator
{
    public const string FashionMnistAutoImport = "fashion-mnist";

    /// <summary>Fashion-MNIST with the instruction conversations (<c>conversation</c> column) for the instruction-tuned stages.</summary>
    public const string FashionMnistInstructAutoImport = "fashion-mnist-instruct";

    /// <summary>The most threads a stage's <c>decode_threads</c> may ask for.</summary>
    public const int MaxDecodeThreads = 64;

    public const int MaxRandomShift = 8;

    private readonly ModelPresetCatalog _presets;
    private readonly Func<string, bool> _exists;
    private readonly Func<string, string[]> _readLines;

    /// <param name="presets">Known model presets (default: <see cref="ModelPresetCatalog.Default"/>).</param>
    /// <param name="exists">Whether a file or folder exists (tests may fake the file system).</param>
    /// <param name="readLines">Reads a text file's lines (<c>eval.zero_shot.classes_file</c>); default <see cref="File.ReadAllLines(string)"/>.</param>
    public RunSpecValidator(ModelPresetCatalog? presets = null, Func<string, bool>? exists = null, Func<string, string[]>? readLines = null)
    {
        _presets = presets ?? ModelPresetCatalog.Default;
        _exists = exists ?? (p => File.Exists(p) || Directory.Exists(p));
        _readLines = readLines ?? File.ReadAllLines;
    }

    public IReadOnlyList<SpecProblem> Validate(RunSpec spec)
    {
        var problems = new List<SpecProblem>();
        void Report(string path, string message) => problems.Add(spec.Source.Problem(path, message));

        CheckName(spec.Name, "name", "run", Report);
        if (spec.WorldSize < 1)
        {
            Report("world_size", $"must be at least 1, got {spec.WorldSize}");
        }
        CheckManifest(spec, Report);
        CheckRecovery(spec, Report);
        if (spec.Stages.Count == 0)
        {
            Report("stages", "a run needs at least one stage");
        }
        for (var i = 0; i < spec.Stages.Count; i++)
        {
            CheckStage(spec, spec.Stages[i], SpecPath.Item("stages", i), Report);
        }
        CheckGraph(spec, Report);
        return problems;
    }

    private static void CheckRecovery(RunSpec spec, Action<string, string> report)
    {
        if (spec.Recovery is not { } recovery)
        {
            return;
        }
        if (recovery.MinWorkers is { } min && (min < 1 || min > spec.WorldSize))
        {
            report("recovery.min_workers", $"must be between 1 and world_size ({spec.WorldSize}), got {min}");
        }
        if (recovery.MaxRestarts < 0)
        {
            report("recovery.max_restarts", $"must be 0 or more, got {recovery.MaxRestarts}");
        }
        foreach (var (key, value, least) in new[]
        {
            ("replacement_wait", recovery.ReplacementWait, TimeSpan.Zero),
            ("window", recovery.Window, TimeSpan.FromSeconds(1)),
            ("collective_deadline", recovery.CollectiveDeadline, TimeSpan.FromSeconds(1)),
            ("coordinator_wait", recovery.CoordinatorWait, TimeSpan.Zero),
        })
        {
            if (value < least)
            {
                report($"recovery.{key}", $"must be at least {least.TotalSeconds:0.###} s, got {value.TotalSeconds:0.###} s");
            }
        }
    }

    private void CheckManifest(RunSpec spec, Action<string, string> report)
    {
        if (spec.Manifest is not { } manifest)
        {
            report("manifest", "missing required field 'manifest'");
            return;
        }
        if (manifest.AutoImport is { } auto && auto is not (FashionMnistAutoImport or FashionMnistInstructAutoImport))
        {
            report("manifest.auto_import",
                $"unknown data set '{auto}' (only '{FashionMnistAutoImport}' and '{FashionMnistInstructAutoImport}' can be imported automatically)");
        }
        if (string.IsNullOrWhiteSpace(manifest.Path))
        {
            report("manifest.path", "missing required field 'path' (the manifest folder)");
        }
        else if (manifest.AutoImport is null && !_exists(spec.ResolvePath(manifest.Path)))
        {
            report("manifest.path", $"manifest folder '{manifest.Path}' does not exist (looked at {spec.ResolvePath(manifest.Path)}); "
                + $"create it with 'mmcluster manifest import-idx' or set 'auto_import: {FashionMnistAutoImport}'");
        }
        if (manifest.ImageRoot is { } root && !_exists(spec.ResolvePath(root)))
        {
            report("manifest.image_root", $"image folder '{root}' does not exist (looked at {spec.ResolvePath(root)})");
        }
        if (string.IsNullOrWhiteSpace(manifest.TrainSplit))
        {
            report("manifest.train_split", "must not be empty");
        }
        if (!(manifest.TestFraction is >= 0 and < 1))
        {
            report("manifest.test_fraction", $"must be in [0, 1) (the share of rows without a split that are test rows), got {manifest.TestFraction}");
        }
        foreach (var (column, source) in manifest.Columns.Where(c => string.IsNullOrWhiteSpace(c.Value)))
        {
            report($"manifest.columns.{column}", $"must name a column of the manifest's files, got '{source}'");
        }
        var limits = manifest.Limits;
        Within(limits.MaxImageBytes, ManifestReadLimits.CeilingMaxImageBytes, "manifest.limits.max_image_bytes", report);
        Within(limits.MaxImagePixels, ManifestReadLimits.CeilingMaxImagePixels, "manifest.limits.max_image_pixels", report);
        Within(limits.MaxCaptionChars, ManifestReadLimits.CeilingMaxCaptionChars, "manifest.limits.max_caption_chars", report);
    }

    private static void Within(long value, long ceiling, string path, Action<string, string> report)
    {
        if (value < 1 || value > ceiling)
        {
            report(path, $"must be between 1 and {ceiling:N0}, got {value:N0}");
        }
    }

    private void CheckStage(RunSpec spec, StageSpec stage, string path, Action<string, string> report)
    {
        CheckName(stage.Name, SpecPath.Field(path, "name"), "stage", report);
        if (stage.Kind is null)
        {
            report(SpecPath.Field(path, "kind"), $"missing required field 'kind' (one of: {string.Join(", ", StageKinds.All)})");
        }
        CheckModel(stage, path, report);
        Positive(stage.BatchSize, SpecPath.Field(path, "batch_size"), report, required: true);
        switch (stage.Steps, stage.Epochs)
        {
            case (null, null):
                report(SpecPath.Field(path, "steps"), "missing 'steps' or 'epochs' (give exactly one)");
                break;
            case ({ }, { }):
                report(SpecPath.Field(path, "epochs"), "give either 'steps' or 'epochs', not both");
                break;
        }
        Positive(stage.Steps, SpecPath.Field(path, "steps"), report);
        Positive(stage.Epochs, SpecPath.Field(path, "epochs"), report);
        Positive(stage.CheckpointEvery, SpecPath.Field(path, "checkpoint_every"), report);
        CheckOptimizer(stage, path, report);
        CheckQuestionNoise(stage, path, report);
        if (stage.RandomShift is { } shift)
        {
            if (shift is < 0 or > MaxRandomShift)
            {
                report(SpecPath.Field(path, "random_shift"), $"must be between 0 and {MaxRandomShift} (pixels), got {shift}");
            }
            else if (shift > 0 && stage.Kind is { } shiftKind && shiftKind != StageKind.Clip)
            {
                report(SpecPath.Field(path, "random_shift"), $"applies to clip stages; {shiftKind.ToName()} stages do not move their images");
            }
        }
        if (stage.DecodeThreads is { } threads && threads is < 1 or > MaxDecodeThreads)
        {
            report(SpecPath.Field(path, "decode_threads"), $"must be between 1 and {MaxDecodeThreads} (threads decoding a worker's images), got {threads}");
        }
        CheckEval(spec, stage.Eval, SpecPath.Field(path, "eval"), report);
        CheckInit(spec, stage, path, report);
    }

    private void CheckModel(StageSpec stage, string path, Action<string, string> report)
    {
        var presetPath = SpecPath.Field(SpecPath.Field(path, "model"), "preset");
        if (stage.Model?.Preset is not { } name)
        {
            report(presetPath, $"missing required field 'model.preset' (known presets: {string.Join(", ", _presets.Names)})");
            return;
        }
        if (_presets.Find(name) is not { } preset)
        {
            report(presetPath, $"unknown model preset '{name}' (known presets: {string.Join(", ", _presets.Names)})");
            return;
        }
        if (stage.Kind is { } kind && !preset.Kinds.Contains(kind))
        {
            report(presetPath, $"preset '{name}' is for {string.Join(", ", preset.Kinds.Select(k => k.ToName()))} stages, not {kind.ToName()}");
        }
        foreach (var field in stage.Model.Overrides.Keys.Where(f => !preset.OverridableFields.Contains(f)))
        {
            report(SpecPath.Field(SpecPath.Field(SpecPath.Field(path, "model"), "overrides"), field),
                $"preset '{name}' has no field '{field}' (overridable: {string.Join(", ", preset.OverridableFields)})");
        }
        if (stage.Model.Overrides.TryGetValue("tokenizer", out var tokenizer) && !TextTokenizers.Names.Contains(tokenizer))
        {
            report(SpecPath.Field(SpecPath.Field(SpecPath.Field(path, "model"), "overrides"), "tokenizer"),
                $"unknown tokenizer '{tokenizer}' (known: {string.Join(", ", TextTokenizers.Names)})");
        }
    }

    /// <summary>The stage kinds that train on conversations, where <c>question_noise</c> applies.</summary>
    private static readonly StageKind[] ConversationKinds =
        [StageKind.Lm, StageKind.LlavaAlign, StageKind.LlavaInstruct, StageKind.InstructBlip, StageKind.Plora];

    private static void CheckQuestionNoise(StageSpec stage, string path, Action<string, string> report)
    {
        if (stage.QuestionNoise is not { } noise)
        {
            return;
        }
        var at = SpecPath.Field(path, "question_noise");
        if (!(noise is >= 0 and < 1))
        {
            report(at, $"must be in [0, 1) (the share of question tokens replaced), got {noise}");
        }
        if (stage.Kind is { } kind && !ConversationKinds.Contains(kind))
        {
            report(at, $"applies to stages that train on conversations ({string.Join(", ", ConversationKinds.Select(k => k.ToName()))}), not {kind.ToName()}");
        }
    }

    private static void CheckOptimizer(StageSpec stage, string path, Action<string, string> report)
    {
        var opt = stage.Optimizer;
        var at = SpecPath.Field(path, "optimizer");
        if (!(opt.Lr > 0 && opt.Lr <= 1))
        {
            report(SpecPath.Field(at, "lr"), $"learning rate must be in (0, 1], got {opt.Lr}");
        }
        if (!(opt.WeightDecay >= 0 && opt.WeightDecay <= 10))
        {
            report(SpecPath.Field(at, "weight_decay"), $"must be in [0, 10], got {opt.WeightDecay}");
        }
        if (!(opt.Beta1 >= 0 && opt.Beta1 < 1 && opt.Beta2 >= 0 && opt.Beta2 < 1))
        {
            report(SpecPath.Field(at, "betas"), $"each beta must be in [0, 1), got [{opt.Beta1}, {opt.Beta2}]");
        }
        if (!(opt.Eps > 0 && opt.Eps <= 1e-2))
        {
            report(SpecPath.Field(at, "eps"), $"must be in (0, 0.01], got {opt.Eps}");
        }
        var warmupPath = SpecPath.Field(SpecPath.Field(path, "schedule"), "warmup_steps");
        if (stage.Schedule.WarmupSteps < 0)
        {
            report(warmupPath, $"must not be negative, got {stage.Schedule.WarmupSteps}");
        }
        else if (stage.Steps is > 0 and { } steps && stage.Schedule.WarmupSteps >= steps)
        {
            report(warmupPath, $"warm-up ({stage.Schedule.WarmupSteps} steps) must be shorter than the stage ({steps} steps)");
        }
        if (stage.GradClip is { } clip && !(clip > 0))
        {
            report(SpecPath.Field(path, "grad_clip"), $"must be positive (or left out for no clipping), got {clip}");
        }
    }

    private void CheckEval(RunSpec spec, EvalSpec eval, string path, Action<string, string> report)
    {
        Positive(eval.EverySteps, SpecPath.Field(path, "every_steps"), report);
        CheckClasses(spec, eval, SpecPath.Field(path, "zero_shot"), report);
        var templatesPath = SpecPath.Field(SpecPath.Field(path, "zero_shot"), "templates");
        for (var i = 0; i < eval.ZeroShotTemplates.Count; i++)
        {
            if (!eval.ZeroShotTemplates[i].Contains("{}", StringComparison.Ordinal))
            {
                report(SpecPath.Item(templatesPath, i), $"template '{eval.ZeroShotTemplates[i]}' has no '{{}}' for the class name");
            }
        }
        Positive(eval.RetrievalHeldOut, SpecPath.Field(SpecPath.Field(path, "retrieval"), "held_out"), report);
    }

    private void CheckClasses(RunSpec spec, EvalSpec eval, string path, Action<string, string> report)
    {
        var classesPath = SpecPath.Field(path, "classes");
        var filePath = SpecPath.Field(path, "classes_file");
        if (eval.ZeroShotClasses is not null && eval.ZeroShotClassesFile is not null)
        {
            report(filePath, "give 'classes' or 'classes_file', not both (each names the classes of the labels)");
            return;
        }
        if (eval.ZeroShotClasses is { } inline)
        {
            foreach (var (index, message) in ZeroShotClasses.Check(inline, i => $"classes[{i}]"))
            {
                report(index is { } i ? SpecPath.Item(classesPath, i) : classesPath, message);
            }
            return;
        }
        if (eval.ZeroShotClassesFile is not { } file)
        {
            return;
        }
        var full = spec.ResolvePath(file);
        if (!_exists(full))
        {
            report(filePath, $"class file '{file}' does not exist (looked at {full})");
            return;
        }
        string[] lines;
        try
        {
            lines = _readLines(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            report(filePath, $"class file '{file}' cannot be read ({e.Message})");
            return;
        }
        // Entry i is on line i + 1.
        foreach (var (index, message) in ZeroShotClasses.Check(ZeroShotClasses.FromLines(lines), i => $"line {i + 1}"))
        {
            report(filePath, $"{file}: {(index is { } i ? $"line {i + 1}: " : "")}{message}");
        }
    }

    private void CheckInit(RunSpec spec, StageSpec stage, string path, Action<string, string> report)
    {
        if (stage.Init is not { } init)
        {
            return;
        }
        var initPath = SpecPath.Field(path, "init");
        for (var i = 0; i < init.Freeze.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(init.Freeze[i]))
            {
                report(SpecPath.Item(SpecPath.Field(initPath, "freeze"), i), "empty module prefix");
            }
        }
        var fromPath = SpecPath.Field(initPath, "from");
        if (init.From.Count == 0 && init.Freeze.Count > 0)
        {
            report(fromPath, "'freeze' needs 'from' (frozen weights must come from a stage or a file)");
        }
        var ancestors = Ancestors(spec, stage);
        for (var i = 0; i < init.From.Count; i++)
        {
            var at = init.From.Count == 1 ? fromPath : SpecPath.Item(fromPath, i);
            CheckInitSource(spec, stage, init.From[i], ancestors, at, report);
        }
    }

    private void CheckInitSource(RunSpec spec, StageSpec stage, string from, HashSet<string> ancestors, string at, Action<string, string> report)
    {
        if (spec.Stages.Any(s => s.Name == from))
        {
            if (from == stage.Name)
            {
                report(at, $"stage '{from}' cannot start from its own weights");
            }
            else if (!ancestors.Contains(from))
            {
                report(at, $"starts from stage '{from}', which is not in depends_on (add it so '{from}' finishes first)");
            }
            return;
        }
        var file = spec.ResolvePath(from);
        if (!from.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            report(at, $"'{from}' is neither a stage of this run nor a .safetensors file");
        }
        else if (!_exists(file))
        {
            report(at, $"init file '{from}' does not exist (looked at {file})");
        }
    }

    private static void CheckGraph(RunSpec spec, Action<string, string> report)
    {
        // Stages without a name are reported above; leave them out of the graph rather than invent one.
        var named = spec.Stages.Select((s, i) => (Stage: s, Index: i)).Where(x => !string.IsNullOrEmpty(x.Stage.Name)).ToList();
        var nodes = named.Select(x => new StageNode(x.Stage.Name!, x.Stage.DependsOn)).ToList();
        foreach (var issue in StageGraph.Check(nodes))
        {
            var stagePath = SpecPath.Item("stages", named[issue.Stage].Index);
            var at = issue.Dependency is { } d ? SpecPath.Item(SpecPath.Field(stagePath, "depends_on"), d) : SpecPath.Field(stagePath, "name");
            var message = issue.Kind == StageGraphIssueKind.DuplicateName
                ? $"duplicate stage name '{nodes[issue.Stage].Name}'"
                : issue.Message;
            report(at, message);
        }
    }

    private static HashSet<string> Ancestors(RunSpec spec, StageSpec stage)
    {
        var byName = spec.Stages.Where(s => s.Name is not null).GroupBy(s => s.Name!).ToDictionary(g => g.Key, g => g.First());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(stage.DependsOn);
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next) && byName.TryGetValue(next, out var dependency))
            {
                foreach (var d in dependency.DependsOn)
                {
                    pending.Push(d);
                }
            }
        }
        return seen;
    }

    private static void CheckName(string? name, string path, string what, Action<string, string> report)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            report(path, $"missing required field 'name' (the {what}'s name)");
        }
        else if (!NamePattern().IsMatch(name))
        {
            report(path, $"{what} name '{name}' may only use letters, digits, '.', '_' and '-' (it names folders and checkpoints)");
        }
    }

    private static void Positive(long? value, string path, Action<string, string> report, bool required = false)
    {
        if (value is null && required)
        {
            report(path, $"missing required field '{path[(path.LastIndexOf('.') + 1)..]}'");
        }
        else if (value <= 0)
        {
            report(path, $"must be positive, got {value}");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex NamePattern();
}
