using System.Globalization;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The device a worker or a benchmark computes on, from <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>: auto is the
/// first CUDA device when libtorch has CUDA and sees one, else the CPU; a CUDA device that is not there is an error that
/// says why (the CPU build of libtorch, or fewer devices), never a silent fall back to the CPU.
/// </summary>
public static class DeviceChoice
{
    public const string Auto = "auto";
    public const string Cpu = "cpu";

    /// <param name="cudaDevices">The CUDA devices libtorch sees (0 with the CPU build).</param>
    public static string Resolve(string requested, int cudaDevices)
    {
        var name = requested.Trim().ToLowerInvariant();
        if (name == Auto)
        {
            return cudaDevices > 0 ? "cuda:0" : Cpu;
        }
        if (name == Cpu)
        {
            return Cpu;
        }
        if (name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var index = 0;
            if (name.Length > 4 && !int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out index))
            {
                throw new ArgumentException($"device '{requested}': the CUDA device index must be a number (cuda:0, cuda:1, ...)");
            }
            if (cudaDevices == 0)
            {
                throw new ArgumentException(
                    $"device '{requested}': this build's libtorch has no CUDA (it is the CPU build); build with -p:TorchBackend=cuda on a machine with CUDA (docs/gpu.md), or use --device cpu");
            }
            return index < cudaDevices
                ? $"cuda:{index}"
                : throw new ArgumentException($"device '{requested}': libtorch sees {cudaDevices} CUDA device(s), numbered from 0");
        }
        throw new ArgumentException($"device '{requested}' is not one of auto, cpu, cuda, cuda:N");
    }

    /// <summary><see cref="Resolve(string, int)"/> against the devices this process's libtorch sees.</summary>
    public static string Resolve(string requested) =>
        Resolve(requested, TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0);
}
