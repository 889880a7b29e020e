using System.CommandLine;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster caption --checkpoint DIR|FILE IMAGE... [--beam N] [--cache on|off] [--device auto|cpu|cuda[:N]]</c>: prints <c>IMAGE: caption</c> for
/// each PNG or JPEG file with a run's blip2-stage2 checkpoint (<see cref="Blip2Captioner"/>): greedy by default, beam
/// search with <c>--beam N</c> (N &gt; 1); with the key-value cache unless <c>--cache off</c>.
/// </summary>
internal static class CaptionCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "A blip2-stage2 checkpoint file, its stage's checkpoint directory, or the run directory.",
            Required = true,
        };
        var beam = new Option<int>("--beam") { Description = "Beam width (1: greedy).", DefaultValueFactory = _ => 1 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest caption, in tokens.", DefaultValueFactory = _ => 16 };
        var cache = new Option<string>("--cache") { Description = "Key-value cache in generation: on or off (the same captions, slower).", DefaultValueFactory = _ => "on" };
        cache.AcceptOnlyFromAmong("on", "off");
        var device = InferenceDeviceOption.Create();
        var images = new Argument<string[]>("IMAGE") { Description = "PNG or JPEG files.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("caption", "Caption image files with a run's BLIP-2 stage-2 checkpoint.")
        {
            checkpoint, beam, maxTokens, cache, device, images,
        };
        command.SetAction(async (result, ct) => await RunCommands.Guard("caption", () =>
        {
            var beams = result.GetValue(beam);
            if (beams < 1)
            {
                throw new ArgumentException($"--beam must be at least 1, got {beams}");
            }
            using var captioner = Blip2Captioner.Load(result.GetValue(checkpoint)!, InferenceDeviceOption.Resolve(result, device));
            Console.Error.WriteLine($"caption: {captioner.Path} on {captioner.Device}");
            foreach (var file in result.GetValue(images)!)
            {
                if (!File.Exists(file))
                {
                    throw new FileNotFoundException($"image '{file}' does not exist", file);
                }
                Console.WriteLine($"{file}: {captioner.Caption(File.ReadAllBytes(file), file, beams, result.GetValue(maxTokens), result.GetValue(cache) == "on")}");
            }
            return Task.FromResult(0);
        }));
        return command;
    }
}
