using TorchSharp.Modules;

namespace MmCluster.Worker.Distributed;

/// <summary>World size 1: the local gradient already is the average.</summary>
public sealed class LocalGradients : IGradientAverager
{
    public static readonly LocalGradients Instance = new();

    private LocalGradients()
    {
    }

    public void AverageGradients(IReadOnlyList<Parameter> parameters)
    {
    }
}
