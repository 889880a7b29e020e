using MmCluster.Coordinator.Hosting;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Coordinator.Tests.Hosting;

/// <summary>The coordinator's stage schedule built from the shipped BLIP-2 example, and its init resolution.</summary>
public sealed class StageScheduleSpecs : IDisposable
{
    private readonly string runDirectory = Directory.CreateTempSubdirectory("mmcluster-schedule-").FullName;

    [Fact]
    public void Should_order_the_blip2_example_clip_lm_stage1_stage2_with_steps_inputs_and_frozen_parts()
    {
        var stages = Build();

        Assert.Equal(["clip", "lm", "blip2-stage1", "blip2-stage2"], stages.Select(s => s.Stage));
        Assert.Equal(["clip", "lm", "blip2-stage1", "blip2-stage2"], stages.Select(s => s.Kind));
        Assert.Equal([0, 1, 2, 3], stages.Select(s => s.StageIndex));
        Assert.All(stages, s => Assert.Equal((4, "run-1", runDirectory), (s.StageCount, s.RunId, s.RunDirectory)));
        Assert.Equal([1200L, 200L, 300L, 600L], stages.Select(s => s.TotalSteps));
        Assert.Equal([64, 64, 64, 64], stages.Select(s => s.BatchSize));
        Assert.Equal([128, 128, 128, 128], stages.Select(s => s.GlobalBatchSize));
        Assert.Equal(["clip-mini", "lm-tiny", "blip2-tiny", "blip2-tiny"], stages.Select(s => s.Preset));
        Assert.Equal("8", stages[2].ModelOverrides["num_query_tokens"]);
        Assert.Empty(stages[0].Init);
        Assert.Equal([new StageInit { From = "clip", Stage = "clip" }], stages[2].Init);
        Assert.Equal(["visual"], stages[2].Freeze);
        Assert.Equal(["blip2-stage1", "lm"], stages[3].Init.Select(i => i.Stage));
        Assert.Equal(["visual", "lm"], stages[3].Freeze);
        Assert.Equal((5e-4, 0.05, 50L, 100L), (stages[3].LearningRate, stages[3].WeightDecay, stages[3].WarmupSteps, stages[3].CheckpointEvery));
    }

    [Fact]
    public void Should_keep_init_and_freeze_when_the_stage_config_travels_as_json()
    {
        var stage2 = StageSchedule.ResolveInit(WithCheckpoints(Build()[3], "blip2-stage1", "lm")) with { GradientWire = GradientWire.BFloat16, GradientOverlap = false, DecodeThreads = 3 };

        var back = StageConfig.FromJson(stage2.ToJsonBytes());

        Assert.Equal((GradientWire.Float32, true, 1), (Build()[3].GradientWire, Build()[3].GradientOverlap, Build()[3].DecodeThreads)); // the example leaves them out
        Assert.Equal((GradientWire.BFloat16, false, 3), (back.GradientWire, back.GradientOverlap, back.DecodeThreads));
        Assert.Equal(stage2.Init, back.Init);
        Assert.Equal(stage2.Freeze, back.Freeze);
        Assert.Equal((3, 4), (back.StageIndex, back.StageCount));
    }

    [Fact]
    public void Should_carry_the_resolved_image_root_limits_and_key_policy_to_every_stage_when_the_spec_sets_them()
    {
        var spec = RunSpecLoader.Load(Example("fashion-mnist-blip2.yaml"));
        var limits = new ManifestReadLimits { MaxImageBytes = 1 << 20, MaxImagePixels = 1 << 24, MaxCaptionChars = 300 };
        spec = spec with { Manifest = spec.Manifest! with { ImageRoot = "../images", Limits = limits, DuplicateKeys = DuplicateKeyPolicy.Skip } };

        var stages = StageSchedule.Build(spec, new StageScheduleInputs { RunId = "run-1", RunDirectory = runDirectory, ManifestPath = "/data/m", TrainRows = 60_000, WorldSize = 2 });

        Assert.Null(Build()[0].ImageRoot);
        Assert.All(stages, s => Assert.Equal(spec.ResolvePath("../images"), s.ImageRoot));
        Assert.Equal(stages[0].ImageRoot, StageConfig.FromJson(stages[0].ToJsonBytes()).ImageRoot);
        Assert.All(stages, s => Assert.Equal((limits, DuplicateKeyPolicy.Skip), (s.ReadLimits, s.DuplicateKeys)));
        Assert.Equal((ManifestReadLimits.Default, DuplicateKeyPolicy.Refuse), (Build()[0].ReadLimits, Build()[0].DuplicateKeys));
    }

    [Fact]
    public void Should_resolve_each_init_stage_to_its_latest_committed_checkpoint_when_the_stage_starts()
    {
        var stage2 = Build()[3];
        Checkpoint("blip2-stage1", 200, committed: true);
        var latest = Checkpoint("blip2-stage1", 600, committed: true);
        Checkpoint("blip2-stage1", 800, committed: false);   // written but never committed: not an input
        var lm = Checkpoint("lm", 300, committed: true);

        var resolved = StageSchedule.ResolveInit(stage2);

        Assert.Equal([latest, lm], resolved.Init.Select(i => i.Checkpoint));
    }

    [Fact]
    public void Should_name_the_stage_and_the_missing_checkpoint_when_an_init_stage_has_none()
    {
        var stage2 = Build()[3];
        Checkpoint("blip2-stage1", 600, committed: true);

        var error = Assert.Throws<InvalidOperationException>(() => StageSchedule.ResolveInit(stage2));

        Assert.Equal(
            $"stage 'blip2-stage2' starts from stage 'lm', but there is no committed checkpoint of 'lm' under {Path.Combine(runDirectory, "checkpoints", "lm")} (step-*.safetensors with its .ledger.pb)",
            error.Message);
    }

    [Fact]
    public void Should_resume_at_the_first_unfinished_stage_from_its_latest_committed_checkpoint()
    {
        var stages = Build();
        Assert.Throws<InvalidOperationException>(() => StageSchedule.ResumePoint(stages));
        Checkpoint("clip", 1200, committed: true);
        Checkpoint("lm", 200, committed: true);

        Assert.Equal((2, (string?)null), StageSchedule.ResumePoint(stages));
        var latest = Checkpoint("blip2-stage1", 200, committed: true);
        Checkpoint("blip2-stage1", 300, committed: false);
        Assert.Equal((2, latest), StageSchedule.ResumePoint(stages));
    }

    [Fact]
    public void Should_name_the_stage_and_its_batch_when_the_manifest_is_too_small_for_one_step()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Build(trainRows: 100));

        Assert.Contains("stages[0].batch_size (stage 'clip')", error.Message);
        Assert.Contains("2 workers x 64 = 128 samples per step", error.Message);
    }

    [Fact]
    public void Should_give_each_stage_its_own_zero_shot_classes_and_the_recorded_ones_to_a_stage_that_names_none()
    {
        var spec = RunSpecLoader.Load(Example("fashion-mnist-blip2.yaml"));
        var file = Path.Combine(runDirectory, "classes.txt");
        File.WriteAllText(file, "Aqua\nDune\nStorm\n");
        var stages = spec.Stages.ToList();
        stages[0] = stages[0] with { Eval = stages[0].Eval with { ZeroShotClasses = ["cat", "dog"] } };
        stages[1] = stages[1] with { Eval = stages[1].Eval with { ZeroShotClassesFile = file } };
        var inputs = new StageScheduleInputs { RunId = "run-1", RunDirectory = runDirectory, ManifestPath = "/data/m", TrainRows = 60_000, WorldSize = 2 };

        var configs = StageSchedule.Build(spec with { Stages = stages }, inputs);
        var recorded = StageSchedule.Build(spec with { Stages = stages }, inputs with { ClassNames = ["zero", "one"] });

        Assert.Equal(["cat", "dog"], configs.Single(c => c.Stage == "clip").ClassNames);
        Assert.Equal(["Aqua", "Dune", "Storm"], configs.Single(c => c.Stage == "lm").ClassNames);
        Assert.Equal(ClassNames.FashionMnist, configs.Single(c => c.Stage == "blip2-stage1").ClassNames);
        Assert.Equal(["zero", "one"], recorded.Single(c => c.Stage == "blip2-stage2").ClassNames);
        Assert.Equal(["cat", "dog"], recorded.Single(c => c.Stage == "clip").ClassNames);
        Assert.Equal(["Aqua", "Dune", "Storm"], StageConfig.FromJson(configs.Single(c => c.Stage == "lm").ToJsonBytes()).ClassNames);
    }

    private IReadOnlyList<StageConfig> Build(long trainRows = 60_000) => StageSchedule.Build(RunSpecLoader.Load(Example("fashion-mnist-blip2.yaml")), new StageScheduleInputs
    {
        RunId = "run-1",
        RunDirectory = runDirectory,
        ManifestPath = "/data/fashion-mnist",
        TrainRows = trainRows,
        WorldSize = 2,
    });

    private StageConfig WithCheckpoints(StageConfig config, params string[] stages)
    {
        foreach (var stage in stages)
        {
            Checkpoint(stage, 10, committed: true);
        }
        return config;
    }

    private string Checkpoint(string stage, long step, bool committed)
    {
        var directory = StageSchedule.CheckpointDirectory(runDirectory, stage);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"step-{step:D8}.safetensors");
        File.WriteAllBytes(path, [0]);
        if (committed)
        {
            File.WriteAllBytes(LedgerSidecar.PathFor(path), []);
        }
        return path;
    }

    private static string Example(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MmCluster.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        return Path.Combine(dir.FullName, "examples", name);
    }

    public void Dispose() => Directory.Delete(runDirectory, recursive: true);
}
