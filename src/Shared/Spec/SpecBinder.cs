using System.Globalization;
using MmCluster.Shared.Manifest;
using YamlDotNet.RepresentationModel;

namespace MmCluster.Shared.Spec;

/// <summary>
/// Turns a parsed YAML (or JSON) document into a <see cref="RunSpec"/>, collecting every shape problem (unknown field,
/// wrong type) with its path and position instead of stopping at the first. Missing required fields and value ranges
/// are the <see cref="RunSpecValidator"/>'s job.
/// </summary>
internal sealed class SpecBinder
{
    private static readonly string[] RootFields = ["name", "manifest", "seed", "world_size", "stages", "recovery"];
    private static readonly string[] RecoveryFields =
        ["enabled", "min_workers", "replacement_wait", "max_restarts", "window", "collective_deadline", "coordinator_wait"];
    private static readonly string[] ManifestFields = ["path", "train_split", "test_split", "test_fraction", "image_root", "auto_import", "duplicate_keys", "vocabulary", "limits", "columns"];
    private static readonly string[] LimitFields = ["max_image_bytes", "max_image_pixels", "max_caption_chars"];
    private static readonly string[] StageFields =
    [
        "name", "kind", "depends_on", "model", "init", "batch_size", "steps", "epochs", "optimizer", "schedule",
        "grad_clip", "gradient_wire", "gradient_overlap", "question_noise", "precision", "decode_threads", "random_shift", "eval", "checkpoint_every",
    ];

    private readonly string? _file;
    private readonly List<SpecProblem> _problems = [];
    private readonly Dictionary<string, SpecPosition> _positions = new(StringComparer.Ordinal);

    private SpecBinder(string? file)
    {
        _file = file;
    }

    public static (RunSpec Spec, IReadOnlyList<SpecProblem> Problems) Bind(YamlNode root, string? file, string baseDirectory)
    {
        var binder = new SpecBinder(file);
        var spec = binder.BindRoot(root);
        var source = new SpecSource(file, baseDirectory, binder._positions);
        return (spec with { Source = source }, binder._problems);
    }

    private RunSpec BindRoot(YamlNode root)
    {
        var top = Section(root, "", RootFields);
        if (top is null)
        {
            return new RunSpec();
        }
        var spec = new RunSpec
        {
            Name = top.Text("name"),
            Seed = top.Long("seed") ?? 0,
            WorldSize = top.Int("world_size") ?? 1,
        };
        if (top.Child("manifest", ManifestFields) is { } manifest)
        {
            spec = spec with
            {
                Manifest = new ManifestSpec
                {
                    Path = manifest.Text("path"),
                    TrainSplit = manifest.Text("train_split") ?? "train",
                    TestSplit = manifest.Text("test_split") ?? "test",
                    TestFraction = manifest.Double("test_fraction") ?? 0,
                    ImageRoot = manifest.Text("image_root"),
                    AutoImport = manifest.Text("auto_import"),
                    DuplicateKeys = manifest.Parse("duplicate_keys", "refuse or skip", text => text.ToLowerInvariant() switch
                    {
                        "refuse" => DuplicateKeyPolicy.Refuse,
                        "skip" => DuplicateKeyPolicy.Skip,
                        _ => (DuplicateKeyPolicy?)null,
                    }) ?? DuplicateKeyPolicy.Refuse,
                    Vocabulary = manifest.Parse("vocabulary", "manifest or train", text => text.ToLowerInvariant() switch
                    {
                        "manifest" => VocabularySource.Manifest,
                        "train" => VocabularySource.Train,
                        _ => (VocabularySource?)null,
                    }) ?? VocabularySource.Manifest,
                    Limits = BindLimits(manifest.Child("limits", LimitFields)),
                    Columns = manifest.Child("columns", [.. ManifestColumnMapping.Mappable]) is { } columns
                        ? ManifestColumnMapping.Mappable.Where(c => columns.Text(c) is not null).ToDictionary(c => c, c => columns.Text(c)!)
                        : new Dictionary<string, string>(),
                },
            };
        }
        if (top.Child("recovery", RecoveryFields) is { } recovery)
        {
            var defaults = new RecoverySpec();
            TimeSpan? Duration(string key) => recovery.Parse(key, "a duration like 30s, 5m or 500ms", RecoverySpec.ParseDuration);
            spec = spec with
            {
                Recovery = new RecoverySpec
                {
                    Enabled = recovery.Bool("enabled") ?? true,
                    MinWorkers = recovery.Int("min_workers"),
                    ReplacementWait = Duration("replacement_wait") ?? defaults.ReplacementWait,
                    MaxRestarts = recovery.Int("max_restarts") ?? defaults.MaxRestarts,
                    Window = Duration("window") ?? defaults.Window,
                    CollectiveDeadline = Duration("collective_deadline") ?? defaults.CollectiveDeadline,
                    CoordinatorWait = Duration("coordinator_wait") ?? defaults.CoordinatorWait,
                },
            };
        }
        var stages = top.Items("stages").Select((item, i) => BindStage(item, SpecPath.Item("stages", i))).ToList();
        return spec with { Stages = stages };
    }

    private static ManifestReadLimits BindLimits(MappingSection? limits) => limits is null
        ? ManifestReadLimits.Default
        : new ManifestReadLimits
        {
            MaxImageBytes = limits.Long("max_image_bytes") ?? ManifestReadLimits.DefaultMaxImageBytes,
            MaxImagePixels = limits.Long("max_image_pixels") ?? ManifestReadLimits.DefaultMaxImagePixels,
            MaxCaptionChars = limits.Int("max_caption_chars") ?? ManifestReadLimits.DefaultMaxCaptionChars,
        };

    private StageSpec BindStage(YamlNode node, string path)
    {
        var s = Section(node, path, StageFields);
        if (s is null)
        {
            return new StageSpec();
        }
        var stage = new StageSpec
        {
            Name = s.Text("name"),
            Kind = s.Kind("kind"),
            DependsOn = s.TextList("depends_on"),
            BatchSize = s.Int("batch_size"),
            Steps = s.Long("steps"),
            Epochs = s.Int("epochs"),
            GradClip = s.Double("grad_clip"),
            GradientWire = s.Parse("gradient_wire", "fp32 or bf16", text => text.ToLowerInvariant() switch
            {
                "fp32" or "float32" => GradientWire.Float32,
                "bf16" or "bfloat16" => GradientWire.BFloat16,
                _ => (GradientWire?)null,
            }),
            GradientOverlap = s.Bool("gradient_overlap"),
            QuestionNoise = s.Double("question_noise"),
            Precision = s.Parse("precision", "fp32 or bf16-mixed", text => text.ToLowerInvariant() switch
            {
                "fp32" or "float32" => StagePrecision.Fp32,
                "bf16-mixed" => StagePrecision.Bf16Mixed,
                _ => (StagePrecision?)null,
            }),
            DecodeThreads = s.Int("decode_threads"),
            RandomShift = s.Int("random_shift"),
            CheckpointEvery = s.Long("checkpoint_every"),
        };
        if (s.Child("model", "preset", "overrides") is { } model)
        {
            stage = stage with { Model = new ModelSpec { Preset = model.Text("preset"), Overrides = model.ScalarMap("overrides") } };
        }
        if (s.Child("init", "from", "freeze") is { } init)
        {
            stage = stage with { Init = new InitSpec { From = init.TextList("from"), Freeze = init.TextList("freeze") } };
        }
        if (s.Child("optimizer", "lr", "weight_decay", "betas", "eps") is { } opt)
        {
            var defaults = new OptimizerSpec();
            var betas = opt.Numbers("betas", 2);
            stage = stage with
            {
                Optimizer = new OptimizerSpec
                {
                    Lr = opt.Double("lr") ?? defaults.Lr,
                    WeightDecay = opt.Double("weight_decay") ?? defaults.WeightDecay,
                    Beta1 = betas?[0] ?? defaults.Beta1,
                    Beta2 = betas?[1] ?? defaults.Beta2,
                    Eps = opt.Double("eps") ?? defaults.Eps,
                },
            };
        }
        if (s.Child("schedule", "warmup_steps", "cosine") is { } schedule)
        {
            stage = stage with { Schedule = new ScheduleSpec { WarmupSteps = schedule.Long("warmup_steps") ?? 0, Cosine = schedule.Bool("cosine") ?? true } };
        }
        if (s.Child("eval", "every_steps", "zero_shot", "retrieval") is { } eval)
        {
            var zeroShot = eval.Child("zero_shot", "templates", "classes", "classes_file");
            stage = stage with
            {
                Eval = new EvalSpec
                {
                    EverySteps = eval.Long("every_steps"),
                    ZeroShotTemplates = zeroShot?.TextList("templates") ?? [],
                    ZeroShotClasses = zeroShot?.Has("classes") == true ? zeroShot.TextList("classes") : null,
                    ZeroShotClassesFile = zeroShot?.Text("classes_file"),
                    RetrievalHeldOut = eval.Child("retrieval", "held_out")?.Int("held_out"),
                },
            };
        }
        return stage;
    }

    private MappingSection? Section(YamlNode node, string path, IReadOnlyList<string> allowed)
    {
        Remember(path, node);
        if (node is not YamlMappingNode mapping)
        {
            Report(path, node, $"expected a mapping of {string.Join(", ", allowed)}, got {Describe(node)}");
            return null;
        }
        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            var fieldPath = SpecPath.Field(path, key);
            Remember(fieldPath, keyNode);
            if (!allowed.Contains(key))
            {
                Report(fieldPath, keyNode, UnknownField(key, allowed));
                continue;
            }
            fields[key] = value;
        }
        return new MappingSection(this, path, fields);
    }

    private static string UnknownField(string key, IReadOnlyList<string> allowed)
    {
        var guess = allowed.OrderBy(a => EditDistance(a, key)).First();
        var hint = EditDistance(guess, key) <= 2 ? $"; did you mean '{guess}'?" : "";
        return $"unknown field '{key}' (expected one of: {string.Join(", ", allowed)}){hint}";
    }

    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    private void Remember(string path, YamlNode node) =>
        _positions.TryAdd(path, new SpecPosition((int)node.Start.Line, (int)node.Start.Column));

    private void Report(string path, YamlNode node, string message) =>
        _problems.Add(new SpecProblem(_file, path, (int)node.Start.Line, (int)node.Start.Column, message));

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode sequence => $"a list of {sequence.Children.Count}",
        YamlScalarNode scalar when IsNull(scalar) => "nothing",
        YamlScalarNode scalar => $"'{scalar.Value}'",
        _ => node.NodeType.ToString(),
    };

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    /// <summary>The fields of one mapping, read with type checks; every read problem goes to the binder's list.</summary>
    private sealed class MappingSection(SpecBinder binder, string path, Dictionary<string, YamlNode> fields)
    {
        public MappingSection? Child(string key, params string[] allowed) =>
            Value(key) is { } node ? binder.Section(node, SpecPath.Field(path, key), allowed) : null;

        public string? Text(string key) => Value(key) is { } node ? AsText(node, SpecPath.Field(path, key)) : null;

        /// <summary>Whether the mapping names <paramref name="key"/> at all (an empty value counts: <c>classes: []</c> is given, and empty).</summary>
        public bool Has(string key) => fields.ContainsKey(key);

        public long? Long(string key) => Parse<long>(key, "a whole number", text =>
            long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null);

        public int? Int(string key) => Parse<int>(key, "a whole number", text =>
            int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null);

        public double? Double(string key) => Parse(key, "a number", ParseDouble);

        public bool? Bool(string key) => Parse(key, "true or false", text => text.ToLowerInvariant() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            _ => (bool?)null,
        });

        public StageKind? Kind(string key) => Value(key) is { } node && AsText(node, SpecPath.Field(path, key)) is { } text
            ? StageKinds.TryParse(text, out var kind)
                ? kind
                : Fail<StageKind>(key, node, $"unknown stage kind '{text}' (expected one of: {string.Join(", ", StageKinds.All)})")
            : null;

        public IReadOnlyList<YamlNode> Items(string key)
        {
            var node = Value(key);
            switch (node)
            {
                case null:
                    return [];
                case YamlSequenceNode sequence:
                    return sequence.Children.ToList();
                default:
                    binder.Report(SpecPath.Field(path, key), node, $"expected a list, got {Describe(node)}");
                    return [];
            }
        }

        public IReadOnlyList<string> TextList(string key)
        {
            var listPath = SpecPath.Field(path, key);
            if (Value(key) is YamlScalarNode single)
            {
                return AsText(single, listPath) is { } one ? [one] : [];
            }
            var texts = new List<string>();
            foreach (var (item, i) in Items(key).Select((item, i) => (item, i)))
            {
                var itemPath = SpecPath.Item(listPath, i);
                binder.Remember(itemPath, item);
                if (AsText(item, itemPath) is { } text)
                {
                    texts.Add(text);
                }
            }
            return texts;
        }

        public double[]? Numbers(string key, int count)
        {
            var items = Items(key);
            if (items.Count == 0)
            {
                return null;
            }
            var values = items.Select((item, i) => item is YamlScalarNode s && ParseDouble(s.Value ?? "") is { } v ? v : (double?)null).ToArray();
            if (items.Count != count || values.Any(v => v is null))
            {
                binder.Report(SpecPath.Field(path, key), fields[key], $"expected a list of {count} numbers, got {Describe(fields[key])}");
                return null;
            }
            return values.Select(v => v!.Value).ToArray();
        }

        public IReadOnlyDictionary<string, string> ScalarMap(string key)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            var node = Value(key);
            if (node is null)
            {
                return map;
            }
            var mapPath = SpecPath.Field(path, key);
            if (node is not YamlMappingNode mapping)
            {
                binder.Report(mapPath, node, $"expected a mapping of field: value, got {Describe(node)}");
                return map;
            }
            foreach (var (keyNode, value) in mapping.Children)
            {
                var name = (keyNode as YamlScalarNode)?.Value ?? "";
                var entryPath = SpecPath.Field(mapPath, name);
                binder.Remember(entryPath, keyNode);
                if (AsText(value, entryPath) is { } text)
                {
                    map[name] = text;
                }
            }
            return map;
        }

        private YamlNode? Value(string key) =>
            fields.TryGetValue(key, out var node) && !(node is YamlScalarNode s && IsNull(s)) ? node : null;

        private string? AsText(YamlNode node, string at)
        {
            binder.Remember(at, node);
            if (node is YamlScalarNode scalar)
            {
                return IsNull(scalar) ? null : scalar.Value;
            }
            binder.Report(at, node, $"expected a single value, got {Describe(node)}");
            return null;
        }

        public T? Parse<T>(string key, string expected, Func<string, T?> parse)
            where T : struct
        {
            if (Value(key) is not { } node || AsText(node, SpecPath.Field(path, key)) is not { } text)
            {
                return null;
            }
            return parse(text.Trim()) ?? Fail<T>(key, node, $"expected {expected}, got '{text}'");
        }

        private T? Fail<T>(string key, YamlNode node, string message)
            where T : struct
        {
            binder.Report(SpecPath.Field(path, key), node, message);
            return null;
        }

        private static double? ParseDouble(string text) =>
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;
    }
}
