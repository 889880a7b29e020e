using MmCluster.Worker.Runtime;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

public sealed class DeviceChoiceSpecs
{
    [Theory]
    [InlineData("auto", 0, "cpu")]
    [InlineData("auto", 2, "cuda:0")]
    [InlineData("cpu", 2, "cpu")]
    [InlineData("CUDA", 1, "cuda:0")]
    [InlineData("cuda:1", 2, "cuda:1")]
    [InlineData(" cpu ", 0, "cpu")]
    public void Should_resolve_the_device_when_libtorch_sees_the_given_cuda_devices(string requested, int devices, string expected)
    {
        Assert.Equal(expected, DeviceChoice.Resolve(requested, devices));
    }

    [Theory]
    [InlineData("cuda", 0, "this build's libtorch has no CUDA (it is the CPU build); build with -p:TorchBackend=cuda")]
    [InlineData("cuda:2", 2, "libtorch sees 2 CUDA device(s), numbered from 0")]
    [InlineData("cuda:x", 1, "the CUDA device index must be a number")]
    [InlineData("gpu", 1, "device 'gpu' is not one of auto, cpu, cuda, cuda:N")]
    public void Should_say_why_when_the_device_asked_for_is_not_there(string requested, int devices, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => DeviceChoice.Resolve(requested, devices));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Should_find_the_cpu_when_auto_runs_on_this_machine_s_cpu_build()
    {
        Assert.Equal("cpu", DeviceChoice.Resolve("auto"));
    }
}
