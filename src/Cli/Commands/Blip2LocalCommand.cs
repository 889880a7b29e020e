using System.CommandLine;
using MmCluster.Worker.Demo;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster blip2-local [--data DIR] [--out DIR] [--clip-steps N] [--lm-steps N] [--stage1-steps N] [--stage2-steps N]
/// [--batch N] [--caption-images N]</c>: the whole BLIP-2 schedule (clip -> lm -> blip2-stage1 -> blip2-stage2) in this one
/// process on Fashion-MNIST, printing each stage's losses and time, stage 1's retrieval and ITM accuracy, and stage 2's
/// "names the right class" rate on the test images (<see cref="Blip2LocalPipeline"/>).
/// </summary>
internal static class Blip2LocalCommand
{
    public static Command Create()
    {
        var defaults = new Blip2LocalSettings();
        var data = new Option<string>("--data") { Description = "Directory of the Fashion-MNIST IDX .gz files.", DefaultValueFactory = _ => defaults.DataDirectory };
        var output = new Option<string>("--out") { Description = "Directory for the stages' safetensors checkpoints.", DefaultValueFactory = _ => defaults.OutputDirectory };
        var clip = new Option<int>("--clip-steps") { DefaultValueFactory = _ => defaults.ClipSteps };
        var lm = new Option<int>("--lm-steps") { DefaultValueFactory = _ => defaults.LmSteps };
        var stage1 = new Option<int>("--stage1-steps") { DefaultValueFactory = _ => defaults.Stage1Steps };
        var stage2 = new Option<int>("--stage2-steps") { DefaultValueFactory = _ => defaults.Stage2Steps };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => defaults.BatchSize };
        var images = new Option<int>("--caption-images") { Description = "Test images captioned (at most 10,000).", DefaultValueFactory = _ => defaults.CaptionImages };
        var command = new Command("blip2-local", "Run clip -> lm -> blip2-stage1 -> blip2-stage2 on Fashion-MNIST in this process and evaluate.")
        {
            data, output, clip, lm, stage1, stage2, batch, images,
        };
        command.SetAction(parseResult =>
        {
            var settings = defaults with
            {
                DataDirectory = parseResult.GetValue(data)!, OutputDirectory = parseResult.GetValue(output)!,
                ClipSteps = parseResult.GetValue(clip), LmSteps = parseResult.GetValue(lm),
                Stage1Steps = parseResult.GetValue(stage1), Stage2Steps = parseResult.GetValue(stage2),
                BatchSize = parseResult.GetValue(batch), CaptionImages = Math.Min(10_000, parseResult.GetValue(images)),
            };
            var report = Blip2LocalPipeline.Run(settings, Console.WriteLine);
            foreach (var stage in report.Stages)
            {
                Console.WriteLine($"{stage.Name}: {stage.Steps} steps in {stage.TrainSeconds:F0}s; {string.Join(", ", stage.FinalLosses.Select(kv => $"{kv.Key} {kv.Value:F3}"))}");
            }
            Console.WriteLine($"stage 1: {report.Retrieval}");
            Console.WriteLine($"stage 2: names the right class in {report.Captions.NamesRightClassRate:P1} of {report.Captions.Images} test images");
            return 0;
        });
        return command;
    }
}
