using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;
using Xunit;

namespace MmCluster.Worker.Tests.Blip2;

public sealed class WeightLoaderSpecs : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("weights-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void Should_copy_the_clip_image_tower_into_the_image_encoder_when_names_and_shapes_match()
    {
        TorchSharp.torch.random.manual_seed(3);
        using var clip = new ClipModel(ClipConfig.Micro);
        var path = Path.Combine(directory, "clip.safetensors");
        ModuleCheckpoint.Save(path, clip);
        using var stage1 = Blip2Fixtures.NewStage1();

        var copied = WeightLoader.Load(stage1, path, "visual.", $"{Blip2Base.VisualEncoder}.");

        var source = Blip2Fixtures.Snapshot(clip);
        var target = Blip2Fixtures.Snapshot(stage1);
        Assert.Equal(source.Keys.Count(k => k.StartsWith("visual.", StringComparison.Ordinal)), copied);
        Assert.Equal(source["visual.conv1.weight"], target["visual.conv1.weight"]);
    }

    [Fact]
    public void Should_initialize_by_name_through_weight_initializer_when_clip_feeds_stage_one_and_stage_one_feeds_stage_two()
    {
        TorchSharp.torch.random.manual_seed(4);
        using var clip = new ClipModel(ClipConfig.Micro);
        var clipPath = Path.Combine(directory, "clip.safetensors");
        ModuleCheckpoint.Save(clipPath, clip);
        using var stage1 = Blip2Fixtures.NewStage1(seed: 8);
        var stage1Path = Path.Combine(directory, "stage1.safetensors");

        var fromClip = WeightInitializer.Load(stage1, [new Shared.Runs.StageInit { From = "clip", Checkpoint = clipPath }]);
        ModuleCheckpoint.Save(stage1Path, stage1);
        using var stage2 = Blip2Fixtures.NewStage2(seed: 9);
        var fromStage1 = WeightInitializer.Load(stage2, [new Shared.Runs.StageInit { From = "blip2-stage1", Checkpoint = stage1Path }]);

        Assert.Equal(Blip2Fixtures.Snapshot(clip)["visual.conv1.weight"], Blip2Fixtures.Snapshot(stage1)["visual.conv1.weight"]);
        var s1 = Blip2Fixtures.Snapshot(stage1);
        var s2 = Blip2Fixtures.Snapshot(stage2);
        Assert.All(s2.Keys.Where(k => !k.StartsWith("lm.", StringComparison.Ordinal) && !k.StartsWith("llm_proj", StringComparison.Ordinal)), k => Assert.Equal(s1[k], s2[k]));
        Assert.True(fromClip[0].Unused > 0);     // the text tower has no place in BLIP-2
        Assert.True(fromStage1[0].Unused > 0);   // nor do stage 1's ITC/ITM heads in stage 2
    }

    [Fact]
    public void Should_list_missing_and_unexpected_names_when_the_file_does_not_fit()
    {
        using var lm = new CaptionLm(CaptionLmConfig.Micro);
        var path = Path.Combine(directory, "lm.safetensors");
        ModuleCheckpoint.Save(path, lm);
        using var stage1 = Blip2Fixtures.NewStage1();

        var error = Assert.Throws<InvalidDataException>(() => WeightLoader.Load(stage1, path, "", "visual."));

        Assert.Contains(path, error.Message);
        Assert.Contains("missing from the file", error.Message);
        Assert.Contains("visual.conv1.weight", error.Message);
        Assert.Contains("in the file but not in the model", error.Message);
        Assert.Contains("visual.token_embedding.weight", error.Message);
    }

    [Fact]
    public void Should_name_the_tensor_and_both_shapes_when_a_shape_differs()
    {
        using var wide = new CaptionLm(CaptionLmConfig.Micro with { VocabSize = 80 });
        var path = Path.Combine(directory, "wide.safetensors");
        ModuleCheckpoint.Save(path, wide);
        using var stage2 = Blip2Fixtures.NewStage2();
        var before = Blip2Fixtures.Snapshot(stage2);

        var error = Assert.Throws<InvalidDataException>(() => WeightLoader.Load(stage2, path, "", $"{Blip2Stage2Model.LanguageModelModule}."));

        Assert.Contains("1 with mismatched shapes: lm.token_embedding.weight (file [80, 16], model [64, 16])", error.Message);
        Assert.Equal(before["lm.ln_f.weight"], Blip2Fixtures.Snapshot(stage2)["lm.ln_f.weight"]);   // nothing copied on error
    }
}
