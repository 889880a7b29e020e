using System.CommandLine;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster ask --checkpoint DIR|FILE IMAGE "question" [--stage NAME] [--max-tokens N] [--device auto|cpu|cuda[:N]]</c>: prints the answer of a
/// run's chat stage (llava-align, llava-instruct, plora, instructblip) to a question about a PNG or JPEG file
/// (<see cref="ChatAnswerer"/>).
/// </summary>
internal static class AskCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "A chat stage's checkpoint file, its stage's checkpoint directory, or the run directory.",
            Required = true,
        };
        var stage = new Option<string?>("--stage") { Description = "In a run directory: the stage whose checkpoint answers (default: the chat stage written last)." };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest answer, in tokens.", DefaultValueFactory = _ => ChatAnswerer.DefaultMaxTokens };
        var device = InferenceDeviceOption.Create();
        var image = new Argument<string>("IMAGE") { Description = "A PNG or JPEG file." };
        var question = new Argument<string>("QUESTION") { Description = "The question, e.g. \"What is the item in the image?\"" };
        var command = new Command("ask", "Answer a question about an image with a run's LLaVA, InstructBLIP or Partial LoRA checkpoint.")
        {
            checkpoint, stage, maxTokens, device, image, question,
        };
        command.SetAction(async (result, ct) => await RunCommands.Guard("ask", () =>
        {
            var file = result.GetValue(image)!;
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"image '{file}' does not exist", file);
            }
            using var answerer = ChatAnswerer.Load(result.GetValue(checkpoint)!, result.GetValue(stage), InferenceDeviceOption.Resolve(result, device));
            Console.Error.WriteLine($"ask: {answerer.Path} ({answerer.Kind}) on {answerer.Device}");
            Console.WriteLine(answerer.Answer(File.ReadAllBytes(file), file, result.GetValue(question)!, result.GetValue(maxTokens)));
            return Task.FromResult(0);
        }));
        return command;
    }
}
