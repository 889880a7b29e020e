using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Loss;

/// <summary>World size 1: rank 0's neighbour is itself, so the exchange is the identity (an alias, autograd flows through).</summary>
public sealed class SingleRankRingExchanger : IRingExchanger
{
    public static readonly SingleRankRingExchanger Instance = new();

    private SingleRankRingExchanger()
    {
    }

    public int Rank => 0;

    public int WorldSize => 1;

    public Tensor Exchange(Tensor send, bool forward = true) => send.alias();
}
