using System.Text.Json;
using MmCluster.Cli.Commands;
using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

public sealed class ModelCommandSpecs
{
    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) =>
        InProcessCommand.RunAsync(ModelCommand.Create(), ["info", .. args]);

    public static TheoryData<string, string> PresetStages()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in ModelPresetCatalog.Default.Names)
        {
            foreach (var kind in ModelPresetCatalog.Default.Find(name)!.Kinds)
            {
                data.Add(name, kind.ToName());
            }
        }
        return data;
    }

    [Fact]
    public async Task Should_list_each_parameter_with_its_shape_and_the_sum_when_a_clip_preset_is_asked_for_as_json()
    {
        var (code, output, _) = await RunAsync("--preset", "clip-mini", "--json");

        Assert.Equal(0, code);
        var root = JsonDocument.Parse(output).RootElement;
        var parameters = root.GetProperty("parameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => (Shape: p.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(), Count: p.GetProperty("count").GetInt64()));
        Assert.Equal(("clip-mini", "clip"), (root.GetProperty("preset").GetString(), root.GetProperty("stage").GetString()));
        Assert.Equal([50257, 128], parameters["token_embedding.weight"].Shape);   // GPT-2's vocabulary, width 128
        Assert.Equal([32, 128], parameters["positional_embedding"].Shape);        // context 32
        Assert.Empty(parameters["logit_scale"].Shape);
        Assert.All(parameters.Values, p => Assert.Equal(p.Shape.Aggregate(1L, (a, b) => a * b), p.Count));
        Assert.Equal(parameters.Values.Sum(p => p.Count), root.GetProperty("parameter_count").GetInt64());
        Assert.Equal(parameters.Count, root.GetProperty("tensors").GetInt32());
    }

    [Theory]
    [MemberData(nameof(PresetStages))]
    public async Task Should_build_the_model_when_any_catalog_preset_is_asked_for_with_a_stage_it_serves(string preset, string stage)
    {
        var (code, output, error) = await RunAsync("--preset", preset, "--stage", stage);

        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"{preset} ({stage}", lines[0]);
        Assert.Matches(@"\): [\d,]+ parameters in \d+ tensors$", lines[0]);
        Assert.Equal(int.Parse(lines[0].Split(' ')[^2]), lines.Length - 1);
    }

    [Fact]
    public async Task Should_exit_2_listing_the_known_presets_when_the_preset_is_unknown()
    {
        var (code, output, error) = await RunAsync("--preset", "ViT-L-14");

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains("unknown --preset 'ViT-L-14'; known: " + string.Join(", ", ModelPresetCatalog.Default.Names), error);
        Assert.Contains("ViT-B-32", error);
    }

    [Fact]
    public async Task Should_give_open_clips_parameter_count_when_vit_b_32_is_asked_for()
    {
        var (code, output, error) = await RunAsync("--preset", "ViT-B-32", "--json");

        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(151_277_313, root.GetProperty("parameter_count").GetInt64());   // OpenCLIP's ViT-B-32
        Assert.Equal(302, root.GetProperty("tensors").GetInt32());
    }

    [Fact]
    public async Task Should_exit_2_naming_the_stages_it_serves_when_the_preset_serves_not_that_stage()
    {
        var (code, _, error) = await RunAsync("--preset", "blip2-tiny", "--stage", "clip");

        Assert.Equal(2, code);
        Assert.Contains("serves blip2-stage1, blip2-stage2, instructblip", error);
    }
}
