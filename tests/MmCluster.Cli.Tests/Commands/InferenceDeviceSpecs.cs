using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>
/// <c>--device</c> of the commands that run a checkpoint: a CUDA device asked of this CPU build of libtorch is refused
/// with the reason and what to do, before any checkpoint is read (the CPU path: EmbedCommandSpecs, ChatScheduleSpecs).
/// </summary>
public sealed class InferenceDeviceSpecs(ITestOutputHelper output) : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("mmcluster-device-").FullName;

    [Theory]
    [InlineData("embed")]
    [InlineData("ask")]
    [InlineData("caption")]
    public async Task Should_refuse_a_cuda_device_naming_the_cpu_build_when_a_command_is_asked_for_a_gpu(string command)
    {
        var image = Path.Combine(folder, "image.png");
        await File.WriteAllBytesAsync(image, [0x89, 0x50, 0x4E, 0x47]);
        var checkpoint = Path.Combine(folder, "no-such-run");
        string[] args = command switch
        {
            "embed" => ["embed", "--checkpoint", checkpoint, "--texts", "a shirt", "--device", "cuda:0"],
            "ask" => ["ask", "--checkpoint", checkpoint, "--device", "cuda", image, "What is the item in the image?"],
            _ => ["caption", "--checkpoint", checkpoint, "--device", "cuda:1", image],
        };

        var (exit, log) = await CliHarness.RunAsync(args, TimeSpan.FromMinutes(1), output);

        Assert.Equal(2, exit);
        Assert.Contains($"mmcluster {command}: device 'cuda", log);
        Assert.Contains("this build's libtorch has no CUDA (it is the CPU build)", log);
        Assert.DoesNotContain("no-such-run", log);   // refused before the checkpoint is looked for
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
