using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Shared.Tests.Spec;

public sealed class ShippedExampleSpecs
{
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

    [Fact]
    public void Should_validate_the_clip_example_when_loaded()
    {
        var spec = RunSpecLoader.Load(Example("fashion-mnist-clip.yaml"));

        var stage = Assert.Single(spec.Stages);
        Assert.Equal((StageKind.Clip, "clip-mini"), (stage.Kind!.Value, stage.Model!.Preset));
        Assert.DoesNotContain(stage.Eval.ZeroShotTemplates, t => CaptionTemplates.Training.Contains(t));   // zero-shot prompts never seen in training
        Assert.Equal(RunSpecValidator.FashionMnistAutoImport, spec.Manifest!.AutoImport);
        Assert.NotEmpty(stage.Eval.ZeroShotTemplates);
    }

    [Fact]
    public void Should_validate_the_photo_example_with_two_decode_threads_when_its_manifest_exists()
    {
        // The manifest and classes.txt are generated (bench/make-photo-set.sh), never committed: the validator is told
        // they exist and reads the class file the script writes (the 16 photographs' names, sorted by path).
        string[] photographs =
        [
            "Elephants", "Elephants_3840x2160", "Elephants_5640x3172", "GreenTraditional", "Aqua", "Blinds", "Dune", "FreshFlower",
            "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm", "TwoWings", "Wood", "YellowFlower",
        ];
        var read = new List<string>();
        var spec = RunSpecLoader.Load(Example("photos-vit-b-32.yaml"), new RunSpecValidator(exists: _ => true, readLines: path =>
        {
            read.Add(path);
            return photographs;
        }));

        var stage = Assert.Single(spec.Stages);
        Assert.Equal(("ViT-B-32", 2), (stage.Model!.Preset, stage.DecodeThreads));
        // classes.txt sits beside the manifest, in the tars folder the script writes: <set>/tars/classes.txt, <set>/manifest.
        var manifest = spec.ResolvePath(spec.Manifest!.Path!);
        Assert.Equal([Path.Combine(Path.GetDirectoryName(manifest)!, "tars", "classes.txt")], read);
        Assert.Null(stage.Eval.ZeroShotClasses);
        // The prompts are not the captions' wording ("a photograph, NAME, cut ...").
        Assert.NotEmpty(stage.Eval.ZeroShotTemplates);
        Assert.All(stage.Eval.ZeroShotTemplates, t => Assert.DoesNotContain("photograph", t, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Should_schedule_clip_lm_stage1_stage2_when_the_blip2_example_is_loaded()
    {
        var spec = RunSpecLoader.Load(Example("fashion-mnist-blip2.yaml"));

        var graph = StageGraph.Build(spec.Stages.Select(s => new StageNode(s.Name!, s.DependsOn)).ToList());
        Assert.Equal(["clip", "lm", "blip2-stage1", "blip2-stage2"], graph.Order);
        Assert.Equal(
            [StageKind.Clip, StageKind.Lm, StageKind.Blip2Stage1, StageKind.Blip2Stage2],
            spec.Stages.Select(s => s.Kind!.Value));
        var stage2 = spec.Stages[3];
        Assert.Equal(["blip2-stage1", "lm"], stage2.Init!.From);
        Assert.Equal(["visual", "lm"], stage2.Init.Freeze);
    }

    [Theory]
    [InlineData("fashion-mnist-llava.yaml", new[] { "clip", "lm", "llava-align", "llava-instruct" })]
    [InlineData("fashion-mnist-instructblip.yaml", new[] { "clip", "lm", "blip2-stage1", "blip2-stage2", "instructblip" })]
    [InlineData("fashion-mnist-plora.yaml", new[] { "clip", "lm", "plora" })]
    public void Should_schedule_the_instruction_recipes_on_the_instruct_manifest_when_their_examples_are_loaded(string file, string[] order)
    {
        var spec = RunSpecLoader.Load(Example(file));

        var graph = StageGraph.Build(spec.Stages.Select(s => new StageNode(s.Name!, s.DependsOn)).ToList());
        Assert.Equal(order, graph.Order);
        Assert.Equal(order, spec.Stages.Select(s => s.Kind!.Value.ToName()));
        Assert.Equal(RunSpecValidator.FashionMnistInstructAutoImport, spec.Manifest!.AutoImport);
        Assert.Equal("lm-chat", spec.Stages.Single(s => s.Name == "lm").Model!.Preset);
        Assert.All(spec.Stages.Skip(2), s => Assert.Contains("visual", s.Init!.Freeze));
    }
}
