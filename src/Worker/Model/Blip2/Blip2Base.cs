using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// What both BLIP-2 stages share (LAVIS Blip2Base): the image encoder <c>visual</c> (CLIP's ViT under CLIP's own name, so a
/// clip stage's checkpoint initializes it by name; LAVIS calls it visual_encoder; frozen), <c>ln_vision</c> over its token features, and the <c>qformer</c>. Names match across stages so a
/// stage-1 checkpoint loads into stage 2 by name. While the encoder is frozen it runs under no_grad: no graph, no gradient.
/// </summary>
public abstract class Blip2Base : nn.Module
{
    private readonly VisionTransformer visual;
    private readonly LayerNorm ln_vision;
    private readonly QFormer qformer;

    protected Blip2Base(string name, ClipConfig vision, QFormerConfig qformerConfig) : base(name)
    {
        VisionConfig = vision.Validate();
        visual = new VisionTransformer(vision);
        visual.ResetParameters();
        ln_vision = LayerNorm(vision.VisionWidth);
        qformer = new QFormer(qformerConfig, vision.VisionWidth);
        register_module(nameof(visual), visual);   // private base fields: RegisterComponents of the
        register_module(nameof(ln_vision), ln_vision);             // derived class does not see them
        register_module(nameof(qformer), qformer);
    }

    /// <summary>The image encoder's module path: the same as in <see cref="ClipModel"/>, so clip checkpoints load by name.</summary>
    public const string VisualEncoder = "visual";

    public const string VisionNorm = "ln_vision";

    public const string QFormerModule = "qformer";

    public ClipConfig VisionConfig { get; }

    public QFormer QFormer => qformer;

    public bool ImageEncoderFrozen => visual.parameters().All(p => !p.requires_grad);

    /// <summary>(B, C, H, W) -> (B, N, E) image features: frozen encoder (no_grad when frozen), then ln_vision.</summary>
    public Tensor EncodeImage(Tensor images)
    {
        using var tokens = EncoderTokens(images);
        return ln_vision.forward(tokens);
    }

    private Tensor EncoderTokens(Tensor images)
    {
        if (!ImageEncoderFrozen)
        {
            return visual.ForwardTokens(images);
        }
        using var _ = no_grad();
        return visual.ForwardTokens(images);
    }
}
