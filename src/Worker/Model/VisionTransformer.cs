using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model;

/// <summary>
/// The image tower: a ViT (Dosovitskiy et al. 2020) as in open_clip/transformer.py VisionTransformer: patchify by a strided
/// convolution, prepend the class token, add positions, pre-LN transformer, ln_post on the class token, project.
/// </summary>
public sealed class VisionTransformer : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Parameter class_embedding;
    private readonly Parameter positional_embedding;
    private readonly LayerNorm ln_pre;
    private readonly Transformer transformer;
    private readonly LayerNorm ln_post;
    private readonly Parameter proj;

    public VisionTransformer(ClipConfig config) : base(nameof(VisionTransformer))
    {
        var width = config.VisionWidth;
        conv1 = Conv2d(config.ImageChannels, width, kernel_size: config.PatchSize, stride: config.PatchSize, bias: false);
        class_embedding = Parameter(empty(width));
        positional_embedding = Parameter(empty(config.VisionSequenceLength, width));
        ln_pre = LayerNorm(width);
        transformer = new Transformer(width, config.VisionLayers, config.VisionHeads, config.MlpRatio, causal: false, config.QuickGelu);
        ln_post = LayerNorm(width);
        proj = Parameter(empty(width, config.EmbedDim));
        RegisterComponents();
    }

    public void ResetParameters()
    {
        using var _ = no_grad();
        var scale = Math.Pow(class_embedding.shape[0], -0.5);
        init.normal_(class_embedding, 0, scale);
        init.normal_(positional_embedding, 0, scale);
        init.normal_(proj, 0, scale);
        transformer.ResetParameters();
    }

    /// <summary>Every token's final hidden state, before ln_post: the image features BLIP-2's Q-Former attends to.</summary>
    /// <param name="images">(B, C, H, W), normalized.</param>
    /// <returns>(B, P+1, Width): the class token first.</returns>
    public Tensor ForwardTokens(Tensor images)
    {
        using var x = Embed(images);
        return transformer.forward(x);
    }

    /// <summary>
    /// Every token's hidden state after the first <paramref name="layers"/> transformer blocks (0: after ln_pre), the rest
    /// not run: LLaVA reads its image features from the second-to-last layer (<c>mm_vision_select_layer = -2</c>, i.e.
    /// layers = <see cref="Layers"/> - 1).
    /// </summary>
    /// <param name="images">(B, C, H, W), normalized.</param>
    /// <returns>(B, P+1, Width): the class token first.</returns>
    public Tensor ForwardHidden(Tensor images, int layers)
    {
        using var x = Embed(images);
        return transformer.ForwardFirst(x, layers);
    }

    /// <summary>The transformer's blocks.</summary>
    public int Layers => transformer.Layers;

    /// <summary>(B, C, H, W) -> (B, P+1, W): patches, the class token first, positions, ln_pre.</summary>
    private Tensor Embed(Tensor images)
    {
        var b = images.shape[0];
        using var patches = MixedPrecision.PatchConv(conv1, images);              // (B, W, H/p, W/p)
        using var flat = patches.flatten(2);                     // (B, W, P)
        using var tokens = flat.transpose(1, 2);                 // (B, P, W)
        using var cls = class_embedding.expand(b, 1, -1);        // (B, 1, W)
        using var seq = cat([cls, tokens], dim: 1);              // (B, P+1, W)
        using var pos = seq.Plus(positional_embedding);
        return ln_pre.forward(pos);
    }

    /// <param name="images">(B, C, H, W), normalized.</param>
    /// <returns>(B, EmbedDim), not normalized.</returns>
    public override Tensor forward(Tensor images)
    {
        using var h = ForwardTokens(images);
        using var first = h.select(1, 0);                        // (B, W): the class token
        using var pooled = ln_post.forward(first);
        return MixedPrecision.MatMul(pooled, proj);                              // (B, W) @ (W, D) -> (B, D)
    }
}
