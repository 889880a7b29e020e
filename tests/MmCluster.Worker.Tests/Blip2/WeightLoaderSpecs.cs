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

        var copied = WeightLoader.Load(stage1, path, "visual.", Blip2Base.VisualEncoderPrefix);

        var source = Blip2Fixtures.Snapshot(clip);
        var target = Blip2Fixtures.Snapshot(stage1);
        Assert.Equal(source.Keys.Count(k => k.StartsWith("visual.", StringComparison.Ordinal)), copied);
        Assert.Equal(source["visual.conv1.weight"], target["visual_encoder.conv1.weight"]);
    }

    [Fact]
    public void Should_list_missing_and_unexpected_names_when_the_file_does_not_fit()
    {
        using var lm = new CaptionLm(CaptionLmConfig.Micro);
        var path = Path.Combine(directory, "lm.safetensors");
        ModuleCheckpoint.Save(path, lm);
        using var stage1 = Blip2Fixtures.NewStage1();

        var error = Assert.Throws<InvalidDataException>(() => WeightLoader.Load(stage1, path, "", Blip2Base.VisualEncoderPrefix));

        Assert.Contains(path, error.Message);
        Assert.Contains("missing from the file", error.Message);
        Assert.Contains("visual_encoder.conv1.weight", error.Message);
        Assert.Contains("in the file but not in the model", error.Message);
        Assert.Contains("visual_encoder.token_embedding.weight", error.Message);
    }

    [Fact]
    public void Should_name_the_tensor_and_both_shapes_when_a_shape_differs()
    {
        using var wide = new CaptionLm(CaptionLmConfig.Micro with { VocabSize = 80 });
        var path = Path.Combine(directory, "wide.safetensors");
        ModuleCheckpoint.Save(path, wide);
        using var stage2 = Blip2Fixtures.NewStage2();
        var before = Blip2Fixtures.Snapshot(stage2);

        var error = Assert.Throws<InvalidDataException>(() => WeightLoader.Load(stage2, path, "", Blip2Stage2Model.LanguageModelPrefix));

        Assert.Contains("1 with mismatched shapes: lm.token_embedding.weight (file [80, 16], model [64, 16])", error.Message);
        Assert.Equal(before["lm.ln_f.weight"], Blip2Fixtures.Snapshot(stage2)["lm.ln_f.weight"]);   // nothing copied on error
    }

    [Fact]
    public void Should_refuse_a_freeze_prefix_that_matches_nothing_when_freezing()
    {
        using var stage1 = Blip2Fixtures.NewStage1();

        var error = Assert.Throws<ArgumentException>(() => Freezing.Freeze(stage1, ["visual."]));

        Assert.Contains("'visual.'", error.Message);
    }
}
