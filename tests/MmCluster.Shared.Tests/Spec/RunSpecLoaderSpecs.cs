using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Shared.Tests.Spec;

public sealed class RunSpecLoaderSpecs : IDisposable
{
    private const string Valid = """
        name: demo
        seed: 7
        world_size: 2
        manifest:
          path: data
          train_split: tr
          test_split: te
        stages:
          - name: clip
            kind: clip
            model:
              preset: clip-tiny
              overrides: { patch_size: 7 }
            batch_size: 32
            steps: 100
            optimizer: { lr: 3.0e-4, weight_decay: 0.2, betas: [0.8, 0.9], eps: 1.0e-6 }
            schedule: { warmup_steps: 10, cosine: false }
            grad_clip: 1.5
            eval:
              every_steps: 50
              zero_shot: { templates: ["a picture of a {}."] }
              retrieval: { held_out: 100 }
            checkpoint_every: 25
          - name: lm
            kind: lm
            depends_on: [clip]
            model: { preset: lm-tiny }
            init: { from: clip, freeze: [visual] }
            batch_size: 16
            epochs: 1
            gradient_wire: bf16
            gradient_overlap: false
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("spec-").FullName;

    public RunSpecLoaderSpecs()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "data"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private IReadOnlyList<SpecProblem> Problems(string yaml) => RunSpecLoader.Parse(yaml, "run.yaml", _dir).Problems;

    private SpecProblem Single(string yaml)
    {
        var problems = Problems(yaml);
        Assert.True(problems.Count == 1, "expected one problem, got: " + string.Join(" | ", problems));
        return problems[0];
    }

    [Fact]
    public void Should_bind_every_field_when_yaml_is_complete()
    {
        var (spec, problems) = RunSpecLoader.Parse(Valid, "run.yaml", _dir);

        Assert.Empty(problems);
        Assert.Equal(("demo", 7L, 2), (spec!.Name, spec.Seed, spec.WorldSize));
        Assert.Equal(("data", "tr", "te"), (spec.Manifest!.Path, spec.Manifest.TrainSplit, spec.Manifest.TestSplit));
        var clip = spec.Stages[0];
        Assert.Equal((StageKind.Clip, "clip-tiny", "7"), (clip.Kind!.Value, clip.Model!.Preset, clip.Model.Overrides["patch_size"]));
        Assert.Equal((32, 100L, (int?)null), (clip.BatchSize!.Value, clip.Steps!.Value, clip.Epochs));
        Assert.Equal(new OptimizerSpec { Lr = 3e-4, WeightDecay = 0.2, Beta1 = 0.8, Beta2 = 0.9, Eps = 1e-6 }, clip.Optimizer);
        Assert.Equal(new ScheduleSpec { WarmupSteps = 10, Cosine = false }, clip.Schedule);
        Assert.Equal((1.5, 25L), (clip.GradClip!.Value, clip.CheckpointEvery!.Value));
        Assert.Null(clip.GradientWire);
        Assert.Null(clip.GradientOverlap);
        Assert.Equal((50L, 100), (clip.Eval.EverySteps!.Value, clip.Eval.RetrievalHeldOut!.Value));
        Assert.Equal(["a picture of a {}."], clip.Eval.ZeroShotTemplates);
        var lm = spec.Stages[1];
        Assert.Equal((StageKind.Lm, 1), (lm.Kind!.Value, lm.Epochs!.Value));
        Assert.Equal((GradientWire.BFloat16, false), (lm.GradientWire, lm.GradientOverlap));
        Assert.Equal(["clip"], lm.DependsOn);
        Assert.Equal(["clip"], lm.Init!.From);
        Assert.Equal(["visual"], lm.Init.Freeze);
        Assert.Equal(Path.Combine(_dir, "data"), spec.ResolvePath(spec.Manifest.Path!));
    }

    [Fact]
    public void Should_load_json_with_positions_when_file_is_json()
    {
        var file = Path.Combine(_dir, "run.json");
        File.WriteAllText(file, """
            {
              "name": "demo",
              "manifest": { "path": "data" },
              "stages": [
                { "name": "clip", "kind": "clip", "model": { "preset": "clip-tiny" }, "batch_size": 8, "steps": 0 }
              ]
            }
            """);

        var (spec, problems) = RunSpecLoader.TryLoad(file);

        Assert.Equal("clip", spec!.Stages[0].Name);
        var problem = Assert.Single(problems, p => p.Path != "manifest.path");
        Assert.Equal(("stages[0].steps", 5), (problem.Path, problem.Line!.Value));
    }

    [Fact]
    public void Should_name_field_path_and_line_when_a_field_is_unknown()
    {
        var problem = Single(Valid.Replace("    steps: 100", "    stpes: 100\n    steps: 100"));

        Assert.Equal(("stages[0].stpes", 15, 5), (problem.Path, problem.Line!.Value, problem.Column!.Value));
        Assert.Contains("unknown field 'stpes'", problem.Message);
        Assert.Contains("did you mean 'steps'?", problem.Message);
        Assert.StartsWith("run.yaml:15:5: stages[0].stpes: unknown field", problem.ToString());
    }

    [Fact]
    public void Should_report_each_missing_required_field_when_absent()
    {
        var problems = Problems("""
            manifest: { path: data }
            stages:
              - name: clip
                depends_on: []
            """);

        Assert.Equal(
            ["name", "stages[0].batch_size", "stages[0].kind", "stages[0].model.preset", "stages[0].steps"],
            problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.All(problems, p => Assert.Contains("missing", p.Message));
        Assert.Equal(3, problems.Single(p => p.Path == "stages[0].batch_size").Line);
    }

    [Fact]
    public void Should_report_unknown_stage_kind_when_kind_is_misspelt()
    {
        var problem = Single(Valid.Replace("kind: lm", "kind: llm").Replace("preset: lm-tiny", "preset: clip-tiny"));

        Assert.Equal(("stages[1].kind", 25), (problem.Path, problem.Line!.Value));
        Assert.Contains("unknown stage kind 'llm' (expected one of: clip, lm, blip2-stage1, blip2-stage2, llava-align, llava-instruct, instructblip, plora)", problem.Message);
    }

    [Fact]
    public void Should_report_unknown_preset_and_wrong_kind_when_preset_does_not_fit()
    {
        var problems = Problems(Valid.Replace("preset: clip-tiny", "preset: clip-huge").Replace("preset: lm-tiny", "preset: blip2-tiny"));

        Assert.Equal(2, problems.Count);
        Assert.Contains("unknown model preset 'clip-huge'", problems[0].Message);
        Assert.Equal(12, problems[0].Line);
        Assert.Contains("preset 'blip2-tiny' is for blip2-stage1, blip2-stage2, instructblip stages, not lm", problems[1].Message);
    }

    [Fact]
    public void Should_report_override_the_preset_lacks_when_override_is_unknown()
    {
        var problem = Single(Valid.Replace("patch_size: 7", "patch: 7"));

        Assert.Equal("stages[0].model.overrides.patch", problem.Path);
        Assert.Contains("preset 'clip-tiny' has no field 'patch'", problem.Message);
    }

    [Fact]
    public void Should_bind_question_noise_when_a_stage_that_trains_on_conversations_sets_it()
    {
        var (spec, problems) = RunSpecLoader.Parse(Valid.Replace("gradient_overlap: false", "gradient_overlap: false\n    question_noise: 0.15"), "run.yaml", _dir);

        Assert.Empty(problems);
        Assert.Equal((null, 0.15), (spec!.Stages[0].QuestionNoise, spec.Stages[1].QuestionNoise));
    }

    [Theory]
    [InlineData("clip", "0.1", "applies to stages that train on conversations (lm, llava-align, llava-instruct, instructblip, plora), not clip")]
    [InlineData("lm", "1.0", "must be in [0, 1) (the share of question tokens replaced), got 1")]
    [InlineData("lm", "-0.2", "must be in [0, 1)")]
    public void Should_report_question_noise_when_it_is_out_of_range_or_on_a_stage_without_conversations(string stage, string value, string message)
    {
        var index = stage == "clip" ? 0 : 1;
        var yaml = stage == "clip"
            ? Valid.Replace("grad_clip: 1.5", $"grad_clip: 1.5\n    question_noise: {value}")
            : Valid.Replace("gradient_overlap: false", $"gradient_overlap: false\n    question_noise: {value}");

        var problem = Single(yaml);

        Assert.Equal($"stages[{index}].question_noise", problem.Path);
        Assert.Contains(message, problem.Message);
    }

    [Fact]
    public void Should_bind_the_manifest_vocabulary_source_and_report_an_unknown_value()
    {
        var (spec, problems) = RunSpecLoader.Parse(Valid.Replace("test_split: te", "test_split: te\n  vocabulary: train"), "run.yaml", _dir);
        var (defaulted, _) = RunSpecLoader.Parse(Valid, "run.yaml", _dir);
        var typo = Single(Valid.Replace("test_split: te", "test_split: te\n  vocabulary: test"));

        Assert.Empty(problems);
        Assert.Equal((VocabularySource.Train, VocabularySource.Manifest), (spec!.Manifest!.Vocabulary, defaulted!.Manifest!.Vocabulary));
        Assert.Equal("manifest.vocabulary", typo.Path);
        Assert.Contains("manifest or train", typo.Message);
    }

    [Fact]
    public void Should_bind_precision_on_a_stage_of_any_kind_and_name_a_precision_it_does_not_know()
    {
        var (spec, problems) = RunSpecLoader.Parse(Valid.Replace("grad_clip: 1.5", "grad_clip: 1.5\n    precision: bf16-mixed"), "run.yaml", _dir);
        var (both, bothProblems) = RunSpecLoader.Parse(
            Valid.Replace("grad_clip: 1.5", "grad_clip: 1.5\n    precision: bf16-mixed").Replace("gradient_overlap: false", "gradient_overlap: false\n    precision: bf16-mixed"),
            "run.yaml", _dir);
        var typo = Single(Valid.Replace("grad_clip: 1.5", "grad_clip: 1.5\n    precision: fp16"));

        Assert.Empty(problems);
        Assert.Equal((StagePrecision.Bf16Mixed, (StagePrecision?)null), (spec!.Stages[0].Precision, spec.Stages[1].Precision));
        Assert.Empty(bothProblems);                                                      // the second stage is not clip
        Assert.Equal((StagePrecision.Bf16Mixed, (StagePrecision?)StagePrecision.Bf16Mixed), (both!.Stages[0].Precision, both.Stages[1].Precision));
        Assert.Equal("stages[0].precision", typo.Path);
        Assert.Contains("fp32 or bf16-mixed", typo.Message);
    }

    [Fact]
    public void Should_bind_decode_threads_per_stage_and_default_to_none_when_left_out()
    {
        var (spec, problems) = RunSpecLoader.Parse(Valid.Replace("grad_clip: 1.5", "grad_clip: 1.5\n    decode_threads: 3"), "run.yaml", _dir);

        Assert.Empty(problems);
        Assert.Equal((3, (int?)null), (spec!.Stages[0].DecodeThreads, spec.Stages[1].DecodeThreads));
    }

    [Theory]
    [InlineData("0", "must be between 1 and 64 (threads decoding a worker's images), got 0")]
    [InlineData("65", "must be between 1 and 64 (threads decoding a worker's images), got 65")]
    [InlineData("2.5", "expected a whole number, got '2.5'")]
    [InlineData("many", "expected a whole number, got 'many'")]
    public void Should_report_decode_threads_when_it_is_not_a_whole_number_from_1_to_64(string value, string message)
    {
        var problem = Single(Valid.Replace("grad_clip: 1.5", $"grad_clip: 1.5\n    decode_threads: {value}"));

        Assert.Equal("stages[0].decode_threads", problem.Path);
        Assert.Contains(message, problem.Message);
    }

    [Fact]
    public void Should_report_the_tokenizer_when_an_override_names_one_that_does_not_exist()
    {
        var problem = Single(Valid.Replace("patch_size: 7", "tokenizer: sentencepiece"));

        Assert.Equal("stages[0].model.overrides.tokenizer", problem.Path);
        Assert.Contains("unknown tokenizer 'sentencepiece' (known: clip-bpe, gpt2)", problem.Message);
    }

    [Fact]
    public void Should_accept_open_clip_presets_with_clip_s_tokenizer_when_a_clip_stage_names_them()
    {
        Assert.Empty(Problems(Valid.Replace("preset: clip-tiny", "preset: ViT-B-32").Replace("patch_size: 7", "tokenizer: clip-bpe")));
    }

    [Fact]
    public void Should_point_at_the_entry_when_a_dependency_is_unknown()
    {
        var problems = Problems(Valid.Replace("depends_on: [clip]", "depends_on: [clp]"));

        var problem = problems.Single(p => p.Path == "stages[1].depends_on[0]");
        Assert.Equal((26, 18), (problem.Line!.Value, problem.Column!.Value));
        Assert.Contains("depends on unknown stage 'clp'", problem.Message);
        // init.from: clip is then no longer an ancestor.
        Assert.Contains(problems, p => p.Path == "stages[1].init.from" && p.Message.Contains("not in depends_on"));
    }

    [Fact]
    public void Should_report_the_cycle_when_stages_depend_on_each_other()
    {
        var problem = Single(Valid.Replace("  - name: clip\n    kind: clip\n", "  - name: clip\n    kind: clip\n    depends_on: [lm]\n"));

        Assert.Equal("stages[1].depends_on[0]", problem.Path);
        Assert.Contains("dependency cycle: clip -> lm -> clip", problem.Message);
    }

    [Fact]
    public void Should_report_duplicate_stage_names_at_the_second_name()
    {
        var problems = Problems(Valid.Replace("name: lm", "name: clip").Replace("depends_on: [clip]", "depends_on: []")
            .Replace("init: { from: clip, freeze: [visual] }", ""));

        var problem = Assert.Single(problems);
        Assert.Equal(("stages[1].name", 24), (problem.Path, problem.Line!.Value));
        Assert.Contains("duplicate stage name 'clip'", problem.Message);
    }

    [Fact]
    public void Should_report_non_positive_values_when_batch_or_steps_are_zero_or_negative()
    {
        var problems = Problems(Valid.Replace("batch_size: 32", "batch_size: 0").Replace("steps: 100", "steps: -5").Replace("epochs: 1", "epochs: 0"));

        Assert.Equal(["stages[0].batch_size", "stages[0].steps", "stages[1].epochs"], problems.Select(p => p.Path));
        Assert.All(problems, p => Assert.Contains("must be positive", p.Message));
    }

    [Theory]
    [InlineData("lr: 3.0e-4", "lr: 0", "learning rate must be in (0, 1], got 0")]
    [InlineData("lr: 3.0e-4", "lr: 5", "learning rate must be in (0, 1], got 5")]
    [InlineData("betas: [0.8, 0.9]", "betas: [0.8, 1.0]", "each beta must be in [0, 1)")]
    [InlineData("betas: [0.8, 0.9]", "betas: [0.8]", "expected a list of 2 numbers, got a list of 1")]
    [InlineData("eps: 1.0e-6", "eps: 0", "must be in (0, 0.01], got 0")]
    [InlineData("grad_clip: 1.5", "grad_clip: 1.5\n    random_shift: 9", "must be between 0 and 8 (pixels), got 9")]
    [InlineData("gradient_overlap: false", "gradient_overlap: false\n    random_shift: 2", "applies to clip stages; lm stages do not move their images")]
    [InlineData("warmup_steps: 10", "warmup_steps: 100", "warm-up (100 steps) must be shorter than the stage (100 steps)")]
    [InlineData("\"a picture of a {}.\"", "\"a picture\"", "template 'a picture' has no '{}'")]
    [InlineData("grad_clip: 1.5", "grad_clip: 0", "must be positive (or left out for no clipping)")]
    [InlineData("gradient_wire: bf16", "gradient_wire: fp16", "expected fp32 or bf16, got 'fp16'")]
    [InlineData("steps: 100", "steps: lots", "expected a whole number, got 'lots'")]
    [InlineData("steps: 100", "steps: 100\n    epochs: 2", "give either 'steps' or 'epochs', not both")]
    public void Should_name_the_value_when_it_is_out_of_range(string from, string to, string expected)
    {
        var problem = Single(Valid.Replace(from, to));

        Assert.Contains(expected, problem.Message);
        Assert.NotNull(problem.Line);
    }

    [Fact]
    public void Should_report_missing_manifest_folder_unless_auto_import_is_set()
    {
        var missing = Valid.Replace("path: data", "path: nowhere");

        var problem = Single(missing);
        Assert.Equal(("manifest.path", 5), (problem.Path, problem.Line!.Value));
        Assert.Contains($"manifest folder 'nowhere' does not exist (looked at {Path.Combine(_dir, "nowhere")})", problem.Message);
        Assert.Empty(Problems(missing.Replace("  test_split: te", "  test_split: te\n  auto_import: fashion-mnist")));
        Assert.Empty(Problems(missing.Replace("  test_split: te", "  test_split: te\n  auto_import: fashion-mnist-instruct")));
        Assert.Contains("only 'fashion-mnist'", Single(missing.Replace("  test_split: te", "  test_split: te\n  auto_import: mnist")).Message);
    }

    [Fact]
    public void Should_check_init_files_when_init_names_no_stage()
    {
        var spec = Valid.Replace("init: { from: clip, freeze: [visual] }", "init: { from: [clip, weights/lm.safetensors, lm.bin] }");

        var problems = Problems(spec);

        Assert.Equal(["stages[1].init.from[1]", "stages[1].init.from[2]"], problems.Select(p => p.Path));
        Assert.Contains("init file 'weights/lm.safetensors' does not exist", problems[0].Message);
        Assert.Contains("'lm.bin' is neither a stage of this run nor a .safetensors file", problems[1].Message);
        Directory.CreateDirectory(Path.Combine(_dir, "weights"));
        File.WriteAllText(Path.Combine(_dir, "weights", "lm.safetensors"), "");
        Assert.Single(Problems(spec));
    }

    [Fact]
    public void Should_report_every_problem_sorted_by_line_when_a_spec_has_many()
    {
        var problems = Problems("""
            name: bad name
            manifest: { path: nowhere }
            world_size: 0
            colour: blue
            stages:
              - name: a
                kind: clip
                model: { preset: clip-tiny }
                depends_on: [b]
                batch_size: 0
                steps: 10
              - name: b
                kind: qformer
                model: { preset: blip2-tiny }
                depends_on: [a]
                batch_size: 4
                steps: 10
            """);

        Assert.Equal([1, 2, 3, 4, 10, 13, 15], problems.Select(p => p.Line!.Value));
        Assert.Contains("may only use letters", problems[0].Message);
        Assert.Contains("dependency cycle: a -> b -> a", problems[6].Message);
    }

    [Fact]
    public void Should_report_position_when_yaml_does_not_parse()
    {
        var problem = Single("name: x\nstages: [\n  - a\n");

        Assert.Equal("", problem.Path);
        Assert.NotNull(problem.Line);
        Assert.StartsWith("not valid YAML or JSON: ", problem.Message);
    }

    [Fact]
    public void Should_throw_with_every_problem_when_loading_a_bad_file()
    {
        var file = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(file, Valid.Replace("batch_size: 32", "batch_size: 0").Replace("kind: lm", "kind: x"));

        var error = Assert.Throws<RunSpecException>(() => RunSpecLoader.Load(file));

        Assert.Equal(2, error.Problems.Count);
        Assert.StartsWith($"{file}: 2 problems:", error.Message);
        Assert.Contains($"{file}:14:5: stages[0].batch_size: must be positive, got 0", error.Message);
    }

    [Fact]
    public void Should_say_where_it_looked_when_the_spec_file_is_missing()
    {
        var error = Assert.Throws<RunSpecException>(() => RunSpecLoader.Load(Path.Combine(_dir, "none.yaml")));

        Assert.Contains("run spec file not found", error.Message);
    }
}
