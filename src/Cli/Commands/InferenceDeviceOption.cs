using System.CommandLine;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>--device auto|cpu|cuda|cuda:N</c> of the commands that run a model in this process (<c>caption</c>, <c>ask</c>,
/// <c>embed</c>, <c>bench step</c>): auto takes the first CUDA device when this build's libtorch has one, else the CPU; a CUDA device asked of the CPU build
/// is refused with what to do (<see cref="DeviceChoice"/>).
/// </summary>
internal static class InferenceDeviceOption
{
    /// <param name="defaultDevice">What an absent option means (auto for the checkpoint commands).</param>
    public static Option<string> Create(string defaultDevice = DeviceChoice.Auto) => new("--device")
    {
        Description = "auto, cpu, cuda or cuda:N (auto: the first CUDA device if libtorch has one, else the CPU).",
        DefaultValueFactory = _ => defaultDevice,
    };

    /// <summary>The device the option names, resolved against the CUDA devices libtorch sees.</summary>
    public static string Resolve(ParseResult result, Option<string> option) => DeviceChoice.Resolve(result.GetValue(option)!);
}
