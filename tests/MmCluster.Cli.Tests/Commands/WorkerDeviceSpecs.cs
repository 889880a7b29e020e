using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>The worker's <c>--device</c>: the CPU runs; a CUDA device is refused with the reason, never half used.</summary>
public sealed class WorkerDeviceSpecs
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("auto")]
    public void Should_compute_on_the_cpu_when_the_build_has_no_cuda(string requested)
    {
        Assert.Equal("cpu", RunCommands.WorkerDevice(requested));
    }

    [Fact]
    public void Should_refuse_cuda_naming_the_cpu_build_when_a_worker_is_asked_for_a_gpu()
    {
        var error = Assert.Throws<ArgumentException>(() => RunCommands.WorkerDevice("cuda:0"));

        Assert.Contains("this build's libtorch has no CUDA", error.Message);
    }
}
