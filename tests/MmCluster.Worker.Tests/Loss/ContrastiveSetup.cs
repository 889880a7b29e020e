using MmCluster.Collectives;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model.Loss;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Loss;

/// <summary>One loss as one rank runs it: how to compute it from the model's features, and what to check after backward.</summary>
internal interface IRankLoss
{
    Tensor Compute(TinyTwoTower model, Tensor image, Tensor text);

    void ThrowIfBackwardFailed();
}

/// <summary>The two losses under test, each buildable for the one-process reference or for rank r of a group.</summary>
internal sealed record ContrastiveSetup(string Name, double InitScale, double InitBias, Func<ICollectiveGroup?, IRankLoss> Create)
{
    public static readonly ContrastiveSetup Clip = new(
        "clip", ClipLoss.InitLogitScale, 0.0, group => new ClipRankLoss(group is null ? SingleRankGatherer.Instance : new CollectiveFeatureGatherer(group)));

    public static readonly ContrastiveSetup SigLip = new(
        "siglip", SigLipLoss.InitLogitScale, SigLipLoss.InitLogitBias, group => new SigLipRankLoss(group is null ? SingleRankRingExchanger.Instance : new CollectiveRingExchanger(group)));

    public static ContrastiveSetup ByName(string name) => name == Clip.Name ? Clip : SigLip;

    public TinyTwoTower NewModel(long seed) => new(seed, InitScale, InitBias);

    public override string ToString() => Name;
}

/// <summary>CLIP local loss over any gatherer (the logit bias is unused and gets a zero gradient).</summary>
internal sealed class ClipRankLoss(IFeatureGatherer gatherer) : IRankLoss
{
    public Tensor Compute(TinyTwoTower model, Tensor image, Tensor text)
    {
        using var clip = ClipLoss.Compute(image, text, model.logit_scale, gatherer);
        using var unusedBias = model.logit_bias * 0.0;   // keeps the bias in the graph so every parameter has a gradient
        return clip + unusedBias;
    }

    public void ThrowIfBackwardFailed() => (gatherer as CollectiveFeatureGatherer)?.ThrowIfBackwardFailed();
}

/// <summary>SigLIP ring loss over any exchanger.</summary>
internal sealed class SigLipRankLoss(IRingExchanger ring) : IRankLoss
{
    public Tensor Compute(TinyTwoTower model, Tensor image, Tensor text) =>
        SigLipLoss.Compute(image, text, model.logit_scale, model.logit_bias, ring);

    public void ThrowIfBackwardFailed() => (ring as CollectiveRingExchanger)?.ThrowIfBackwardFailed();
}
