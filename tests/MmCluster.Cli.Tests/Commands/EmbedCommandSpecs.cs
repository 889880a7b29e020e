using System.Text.Json;
using MmCluster.Cli.Commands;
using MmCluster.Worker.Checkpoints;
using SkiaSharp;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

/// <summary><c>mmcluster embed</c> over weights <c>mmcluster model init</c> wrote (the OpenCLIP equality itself: ClipEmbedderSpecs, bench/openclip-equality.sh).</summary>
public sealed class EmbedCommandSpecs : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("mmcluster-embed-").FullName;

    [Fact]
    public async Task Should_print_unit_embeddings_ids_and_similarities_when_images_and_texts_are_given_as_json()
    {
        var weights = await InitAsync("clip-mini");
        var image = Png("photo.png", 28, 28);

        var (code, output, error) = await InProcessCommand.RunAsync(EmbedCommand.Create(),
            "--checkpoint", weights, "--images", image, "--texts", "a shirt", "a pair of trousers", "--json");

        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(("clip-mini", "gpt2"), (root.GetProperty("preset").GetString(), root.GetProperty("tokenizer").GetString()));
        var vectors = root.GetProperty("images").EnumerateArray().Concat(root.GetProperty("texts").EnumerateArray())
            .Select(e => e.GetProperty("embedding").EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
        Assert.Equal(3, vectors.Count);
        Assert.All(vectors, v => Assert.Equal((128, 1.0), (v.Length, Math.Round(Math.Sqrt(v.Sum(x => x * x)), 5))));
        var ids = root.GetProperty("texts")[0].GetProperty("ids").EnumerateArray().Select(i => i.GetInt64()).ToArray();
        Assert.Equal(32, ids.Length);
        Assert.Contains(CaptionEndOfText, ids);
        var similarity = root.GetProperty("similarity")[0].EnumerateArray().Select(s => s.GetDouble()).ToArray();
        Assert.Equal(2, similarity.Length);
        Assert.Equal(vectors[0].Zip(vectors[1], (a, b) => a * b).Sum(), similarity[0], 5);
    }

    [Fact]
    public async Task Should_write_the_embeddings_as_safetensors_when_out_is_given()
    {
        var weights = await InitAsync("openclip-micro");
        var path = Path.Combine(folder, "embeddings.safetensors");

        var (code, _, error) = await InProcessCommand.RunAsync(EmbedCommand.Create(),
            "--checkpoint", weights, "--images", Png("a.png", 32, 32), Png("b.png", 32, 32), "--out", path);

        Assert.True(code == 0, error);
        var entry = Assert.Single(SafeTensorsFile.Read(path).Tensors);
        Assert.Equal(("image_embeddings", "F32"), (entry.Name, entry.DType));
        Assert.Equal([2, 24], entry.Shape);
    }

    [Fact]
    public async Task Should_name_the_file_and_the_missing_tensor_when_the_checkpoint_is_not_a_clip_state_dict()
    {
        var path = Path.Combine(folder, "other.safetensors");
        SafeTensorsFile.Write(path, [new SafeTensorEntry("weight", "F32", [1], new byte[4])]);

        var (code, _, error) = await InProcessCommand.RunAsync(EmbedCommand.Create(), "--checkpoint", path, "--images", Png("a.png", 32, 32));

        Assert.Equal(2, code);
        Assert.Contains($"{path}: no tensor 'visual.conv1.weight'", error);
    }

    [Fact]
    public async Task Should_give_the_default_devices_embeddings_when_the_cpu_is_named()
    {
        var weights = await InitAsync("clip-mini");
        var image = Png("photo.png", 28, 28);
        string[] args = ["--checkpoint", weights, "--images", image, "--texts", "a shirt", "--json"];

        var (autoCode, autoOutput, autoError) = await InProcessCommand.RunAsync(EmbedCommand.Create(), args);
        var (cpuCode, cpuOutput, cpuError) = await InProcessCommand.RunAsync(EmbedCommand.Create(), [.. args, "--device", "cpu"]);

        Assert.True(autoCode == 0 && cpuCode == 0, autoError + cpuError);
        Assert.Contains("on cpu)", autoError);   // auto on this CPU build of libtorch
        Assert.Contains("on cpu)", cpuError);
        Assert.Equal(autoOutput, cpuOutput);
    }

    private const long CaptionEndOfText = 50256;

    private async Task<string> InitAsync(string preset)
    {
        var path = Path.Combine(folder, $"{preset}.safetensors");
        var (code, _, error) = await InProcessCommand.RunAsync(ModelCommand.Create(), "init", "--preset", preset, "--seed", "3", "--out", path);
        Assert.True(code == 0, error);
        return path;
    }

    private string Png(string name, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 7), (byte)(y * 7), (byte)((x + y) * 3)));
            }
        }
        var path = Path.Combine(folder, name);
        using var data = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
