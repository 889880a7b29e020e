using System.Runtime.InteropServices;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;
using MmCluster.Worker.Tests.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Checkpoints;

/// <summary>
/// OpenCLIP's state dicts and ours are the same thing: the Python-written fixture (OpenCLIP's module names,
/// <c>load_state_dict(strict=True)</c> there) has exactly our model's names and shapes, loads by <c>init.from</c>, and
/// our writer gives back its bytes; half-precision files load too. The Python side of the round trip (our file loading
/// strictly in the reference) is bench/openclip-equality.sh.
/// </summary>
public sealed class OpenClipStateDictSpecs : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("mmcluster-openclip-").FullName;

    [Fact]
    public void Should_have_exactly_the_open_clip_files_names_and_shapes_when_built_at_the_same_config()
    {
        using var model = new ClipModel(ClipConfig.OpenClipMicro);
        var file = SafeTensorsFile.Read(OpenClipFixture.Weights).Tensors.ToDictionary(t => t.Name, t => t.Shape);
        var ours = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);

        Assert.Equal(file.Keys.Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
        Assert.All(file, kv => Assert.Equal(kv.Value, ours[kv.Key]));
    }

    [Fact]
    public void Should_write_back_the_same_names_shapes_and_bytes_when_an_open_clip_file_is_loaded_and_saved()
    {
        using var model = new ClipModel(ClipConfig.OpenClipMicro);
        var original = SafeTensorsFile.Read(OpenClipFixture.Weights).Tensors;
        WeightLoader.Load(model, OpenClipFixture.Weights);
        var path = Path.Combine(folder, "ours.safetensors");

        CheckpointStore.SaveWeights(model, path);
        var written = SafeTensorsFile.Read(path).Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

        Assert.Equal(original.Count, written.Count);
        Assert.All(original, entry =>
        {
            var ours = written[entry.Name];
            Assert.Equal(entry.DType, ours.DType);
            Assert.Equal(entry.Shape, ours.Shape);
            Assert.Equal(entry.Data, ours.Data);
        });
    }

    [Fact]
    public void Should_load_every_tensor_and_embed_as_open_clip_when_init_from_names_an_open_clip_file()
    {
        using var model = new ClipModel(ClipConfig.OpenClipMicro);

        var result = Assert.Single(WeightInitializer.Load(model, [new StageInit { From = "openclip.safetensors", Checkpoint = OpenClipFixture.Weights }]));

        Assert.Equal((62, 62, 0), (result.Loaded, result.ModelTensors, result.Unused));
        Assert.Equal(OpenClipFixture.Floats("expected.logit_scale")[0], model.LogitScale.item<float>());
        using var _ = no_grad();
        using var tokens = tensor(OpenClipFixture.Longs("input.tokens"), [3, ClipConfig.OpenClipMicro.ContextLength]);
        using var text = model.EncodeText(tokens);
        var actual = text.data<float>().ToArray().Chunk(ClipConfig.OpenClipMicro.EmbedDim).ToArray();
        Assert.InRange(OpenClipFixture.MaxAbsDifference(actual, OpenClipFixture.Rows("expected.text")), 0, OpenClipFixture.Tolerance);
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Should_load_the_rounded_values_when_the_file_holds_half_precision_weights(string dtype)
    {
        var original = SafeTensorsFile.Read(OpenClipFixture.Weights).Tensors;
        var path = Path.Combine(folder, $"{dtype}.safetensors");
        SafeTensorsFile.Write(path, original.Select(e => e with { DType = dtype, Data = Halve(e.Data, dtype) }));
        using var model = new ClipModel(ClipConfig.OpenClipMicro);

        WeightLoader.Load(model, path);

        var source = original.Single(e => e.Name == "visual.proj");
        var expected = MemoryMarshal.Cast<byte, float>(source.Data).ToArray()
            .Select(v => dtype == "F16" ? (float)(Half)v : BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(v) & unchecked((int)0xFFFF0000)))
            .ToArray();
        var loaded = model.state_dict()["visual.proj"].data<float>().ToArray();
        Assert.Equal(expected, loaded);
        Assert.NotEqual(MemoryMarshal.Cast<byte, float>(source.Data).ToArray(), loaded);
    }

    /// <summary>float32 bytes to F16 (rounded) or BF16 (truncated) bytes.</summary>
    private static byte[] Halve(byte[] data, string dtype)
    {
        var values = MemoryMarshal.Cast<byte, float>(data).ToArray();
        var halves = values.Select(v => dtype == "F16"
            ? BitConverter.HalfToUInt16Bits((Half)v)
            : (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray();
        return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
