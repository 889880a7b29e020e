using System.CommandLine;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>--device auto|cpu|cuda|cuda:N</c> of the commands that run a checkpoint (<c>caption</c>, <c>ask</c>, <c>embed</c>):
/// auto takes the first CUDA device when this build's libtorch has one, else the CPU; a CUDA device asked of the CPU build
/// is refused with what to do (<see cref="DeviceChoice"/>).
/// </summary>
internal static class InferenceDeviceOption
{
    public static Option<string> Create() => new("--device")
    {
        Description = "auto, cpu, cuda or cuda:N (auto: the first CUDA device if libtorch has one, else the CPU).",
        DefaultValueFactory = _ => DeviceChoice.Auto,
    };

    /// <summary>The device the option names, resolved against the CUDA devices libtorch sees.</summary>
    public static string Resolve(ParseResult result, Option<string> option) => DeviceChoice.Resolve(result.GetValue(option)!);
}
