using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// What both BLIP-2 stages share (LAVIS Blip2Base): the image encoder <c>visual_encoder</c> (CLIP's ViT, loaded from the
/// clip stage and frozen), <c>ln_vision</c> over its token features, and the <c>qformer</c>. Names match across stages so a
/// stage-1 checkpoint loads into stage 2 by name. While the encoder is frozen it runs under no_grad: no graph, no gradient.
/// </summary>
public abstract class Blip2Base : nn.Module
{
    private readonly VisionTransformer visual_encoder;
    private readonly LayerNorm ln_vision;
    private readonly QFormer qformer;

    protected Blip2Base(string name, ClipConfig vision, QFormerConfig qformerConfig) : base(name)
    {
        VisionConfig = vision.Validate();
        visual_encoder = new VisionTransformer(vision);
        visual_encoder.ResetParameters();
        ln_vision = LayerNorm(vision.VisionWidth);
        qformer = new QFormer(qformerConfig, vision.VisionWidth);
        register_module(nameof(visual_encoder), visual_encoder);   // private base fields: RegisterComponents of the
        register_module(nameof(ln_vision), ln_vision);             // derived class does not see them
        register_module(nameof(qformer), qformer);
    }

    /// <summary>The state_dict prefix of the image encoder (a clip checkpoint's <c>visual.</c> tensors load here).</summary>
    public const string VisualEncoderPrefix = "visual_encoder.";

    public const string QFormerPrefix = "qformer.";

    public ClipConfig VisionConfig { get; }

    public QFormer QFormer => qformer;

    public bool ImageEncoderFrozen => visual_encoder.parameters().All(p => !p.requires_grad);

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
            return visual_encoder.ForwardTokens(images);
        }
        using var _ = no_grad();
        return visual_encoder.ForwardTokens(images);
    }
}
