using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// BLIP-2 stage 1, representation learning (LAVIS blip2_qformer.py Blip2Qformer): the frozen image encoder and the
/// Q-Former from <see cref="Blip2Base"/>, plus <c>vision_proj</c> and <c>text_proj</c> into the ITC space, the binary
/// <c>itm_head</c> and the learnable ITC temperature <c>temp</c>. The losses live in <see cref="Loss.Blip2Stage1Loss"/>.
/// </summary>
public sealed class Blip2Stage1Model : Blip2Base
{
    public const double MinTemperature = 0.001;
    public const double MaxTemperature = 0.5;

    private readonly Linear vision_proj;
    private readonly Linear text_proj;
    private readonly Linear itm_head;
    private readonly Parameter temp;

    public Blip2Stage1Model(ClipConfig vision, QFormerConfig qformer) : base(nameof(Blip2Stage1Model), vision, qformer)
    {
        vision_proj = Linear(qformer.Width, qformer.EmbedDim);
        text_proj = Linear(qformer.Width, qformer.EmbedDim);
        itm_head = Linear(qformer.Width, 2);
        temp = Parameter(tensor((float)qformer.InitTemperature));
        RegisterComponents();
    }

    public Parameter Temperature => temp;

    /// <summary>(B, Q, W) query outputs -> (B, Q, D) L2-normalized query features.</summary>
    public Tensor QueryFeatures(Tensor queryHidden)
    {
        using var projected = MixedPrecision.Linear(vision_proj, queryHidden);
        return functional.normalize(projected, dim: -1);
    }

    /// <summary>(B, W) [CLS] outputs -> (B, D) L2-normalized text features.</summary>
    public Tensor TextFeatures(Tensor clsHidden)
    {
        using var projected = MixedPrecision.Linear(text_proj, clsHidden);
        return functional.normalize(projected, dim: -1);
    }

    /// <summary>(B, Q, W) multimodal query outputs -> (B, 2) match logits, averaged over the queries as in LAVIS.</summary>
    public Tensor MatchLogits(Tensor queryHidden)
    {
        using var perQuery = MixedPrecision.Linear(itm_head, queryHidden);   // (B, Q, 2)
        return perQuery.mean([1]);
    }

    /// <summary>LAVIS clamps temp to [0.001, 0.5] before each forward; the trainer does it after each update.</summary>
    public void ClampTemperature()
    {
        using var _ = no_grad();
        temp.ClampInPlace(MinTemperature, MaxTemperature);
    }
}
