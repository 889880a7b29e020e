using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>World size 1: the gather is the identity (an alias, so autograd flows straight through).</summary>
public sealed class SingleRankGatherer : IFeatureGatherer
{
    public static readonly SingleRankGatherer Instance = new();

    private SingleRankGatherer()
    {
    }

    public int Rank => 0;

    public int WorldSize => 1;

    public Tensor AllGather(Tensor local) => local.alias();
}
