using MmCluster.Worker.Model;
using Xunit;

namespace MmCluster.Worker.Tests.Model;

/// <summary>Reading a CLIP config off an OpenCLIP-named state dict's shapes (how <c>mmcluster embed</c> loads a converted checkpoint).</summary>
public sealed class ClipStateDictShapesSpecs
{
    [Fact]
    public void Should_name_the_preset_when_the_shapes_are_a_presets()
    {
        var (config, preset) = ClipStateDictShapes.Infer(Shapes(ClipConfig.OpenClipMicro), "micro.safetensors");

        Assert.Equal("openclip-micro", preset);
        Assert.Equal(ClipConfig.OpenClipMicro, config);
    }

    [Fact]
    public void Should_read_every_size_and_take_heads_of_width_64_when_no_preset_matches()
    {
        var built = ClipConfig.OpenClipMicro with { VisionWidth = 128, VisionHeads = 2, TextWidth = 64, TextHeads = 1, VisionLayers = 3, MlpRatio = 2, EmbedDim = 40, ContextLength = 12 };

        var (config, preset) = ClipStateDictShapes.Infer(Shapes(built), "custom.safetensors");

        Assert.Null(preset);
        Assert.Equal(built, config);
    }

    [Fact]
    public void Should_name_the_file_and_the_missing_tensor_when_it_is_not_a_clip_state_dict()
    {
        var shapes = Shapes(ClipConfig.OpenClipMicro);
        shapes.Remove("visual.proj");

        var error = Assert.Throws<InvalidDataException>(() => ClipStateDictShapes.Infer(shapes, "other.safetensors"));

        Assert.Contains("other.safetensors: no tensor 'visual.proj'", error.Message);
    }

    private static Dictionary<string, long[]> Shapes(ClipConfig config)
    {
        using var model = new ClipModel(config);
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal);
    }
}
