using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MmCluster.Shared.Spec;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster model info --preset NAME [--stage KIND] [--json]</c>: a preset's parameter count and each parameter's
/// name and shape (the names a checkpoint holds), from the model the worker builds (<see cref="PresetModels"/>) with
/// fresh weights on the CPU. Presets are <see cref="ModelPresetCatalog"/>'s; <c>--stage</c> picks the stage kind for a
/// preset that serves several (blip2-tiny: blip2-stage1, blip2-stage2, instructblip).
/// </summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "Model preset: " + string.Join(", ", Names), Required = true };
        var stage = new Option<string?>("--stage") { Description = "Stage kind the model is built for (default: the preset's first)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var info = new Command("info", "A model preset's parameter count, and each parameter's name and shape.") { preset, stage, json };
        info.SetAction(result => Info(
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, result.GetValue(preset)!, result.GetValue(stage), result.GetValue(json)));
        return new Command("model", "Inspect the model presets.") { info, CreateInit() };
    }

    /// <summary>
    /// <c>mmcluster model init --preset NAME [--seed N] --out FILE.safetensors</c>: a CLIP preset's freshly initialized
    /// weights under OpenCLIP's names (a starting checkpoint; the round trip with OpenCLIP, bench/openclip-equality.sh).
    /// </summary>
    private static Command CreateInit()
    {
        var preset = new Option<string>("--preset") { Description = "CLIP preset: " + string.Join(", ", ClipConfig.Presets.Keys), Required = true };
        var seed = new Option<long>("--seed") { Description = "Generator seed.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "The safetensors file to write.", Required = true };
        var init = new Command("init", "Write a CLIP preset's freshly initialized weights (OpenCLIP's names) to a safetensors file.") { preset, seed, output };
        init.SetAction(async (result, ct) => await RunCommands.Guard("model init", () =>
        {
            var name = result.GetValue(preset)!;
            var path = result.GetValue(output)!;
            TorchSharp.torch.manual_seed(result.GetValue(seed));
            using var model = new ClipModel(ClipConfig.FromPreset(name));
            CheckpointStore.SaveWeights(model, path, new Dictionary<string, string>
            {
                ["preset"] = name,
                ["seed"] = result.GetValue(seed).ToString(CultureInfo.InvariantCulture),
            });
            result.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: {name}, {model.parameters().Sum(p => p.numel()):N0} parameters"));
            return Task.FromResult(0);
        }));
        return init;
    }

    /// <summary>The run-spec presets (OpenCLIP's ViT-B-32 and ViT-B-16 among them).</summary>
    private static IEnumerable<string> Names => ModelPresetCatalog.Default.Names;

    private static ModelPreset? Find(string name) => ModelPresetCatalog.Default.Find(name);

    private static int Info(TextWriter output, TextWriter error, string name, string? stageName, bool json)
    {
        if (Find(name) is not { } preset)
        {
            error.WriteLine($"mmcluster model info: unknown --preset '{name}'; known: {string.Join(", ", Names)}");
            return 2;
        }
        var kind = PresetModels.DefaultKind(preset);
        if (stageName is not null && (!StageKinds.TryParse(stageName, out kind) || !preset.Kinds.Contains(kind)))
        {
            error.WriteLine($"mmcluster model info: preset '{name}' serves no '{stageName}' stage; it serves {string.Join(", ", preset.Kinds.Select(k => k.ToName()))}");
            return 2;
        }
        using var model = PresetModels.Build(preset, kind);
        var parameters = model.named_parameters().Select(p => (Name: p.name, Shape: p.parameter.shape, Count: p.parameter.numel())).ToList();
        var total = parameters.Sum(p => p.Count);
        var companions = PresetModels.Companions(kind);
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                preset = name,
                stage = kind.ToName(),
                companions,
                parameter_count = total,
                tensors = parameters.Count,
                parameters = parameters.Select(p => new { name = p.Name, shape = p.Shape, count = p.Count }),
            }));
            return 0;
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name} ({kind.ToName()}{(companions.Count > 0 ? "; " + string.Join(", ", companions) : "")}): {total:N0} parameters in {parameters.Count} tensors"));
        var shapes = parameters.Select(p => $"[{string.Join(", ", p.Shape)}]").ToList();
        var (nameWidth, shapeWidth) = (parameters.Max(p => p.Name.Length), shapes.Max(s => s.Length));
        for (var i = 0; i < parameters.Count; i++)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {parameters[i].Name.PadRight(nameWidth)}  {shapes[i].PadRight(shapeWidth)}  {parameters[i].Count,12:N0}"));
        }
        return 0;
    }
}
