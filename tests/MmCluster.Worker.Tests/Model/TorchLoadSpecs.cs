using TorchSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Model;

/// <summary>Proves libtorch loads in the test host (the build patches libLibTorchSharp.so where libstdc++ is old).</summary>
public sealed class TorchLoadSpecs
{
    [Fact]
    public void Should_create_and_add_tensors_when_libtorch_is_loaded()
    {
        using var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var b = torch.ones(2, 3);
        using var c = a + b;
        Assert.Equal(new long[] { 2, 3 }, c.shape);
        Assert.Equal(21f, c.sum().item<float>());
    }
}
