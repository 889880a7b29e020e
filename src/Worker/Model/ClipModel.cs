using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model;

/// <summary>
/// CLIP (Radford et al. 2021, arXiv:2103.00020) in OpenCLIP's layout (open_clip/model.py CLIP): a ViT image tower under
/// <c>visual</c> and the text tower's modules at the top level (<c>token_embedding</c>, <c>positional_embedding</c>,
/// <c>transformer</c>, <c>ln_final</c>, <c>text_projection</c>), both projected into one space and L2-normalized; a learnable
/// <c>logit_scale</c> starting at log(1/0.07). The text transformer is causal; its feature is read at the EOT position.
/// </summary>
public sealed class ClipModel : Module<Tensor, Tensor, (Tensor ImageFeatures, Tensor TextFeatures)>
{
    private readonly VisionTransformer visual;
    private readonly Embedding token_embedding;
    private readonly Parameter positional_embedding;
    private readonly Transformer transformer;
    private readonly LayerNorm ln_final;
    private readonly Parameter text_projection;
    private readonly Parameter logit_scale;

    public ClipModel(ClipConfig config) : base(nameof(ClipModel))
    {
        Config = config.Validate();
        visual = new VisionTransformer(config);
        token_embedding = Embedding(config.VocabSize, config.TextWidth);
        positional_embedding = Parameter(empty(config.ContextLength, config.TextWidth));
        transformer = new Transformer(config.TextWidth, config.TextLayers, config.TextHeads, config.MlpRatio, causal: true, config.QuickGelu);
        ln_final = LayerNorm(config.TextWidth);
        text_projection = Parameter(empty(config.TextWidth, config.EmbedDim));
        logit_scale = Parameter(tensor((float)config.InitLogitScale));
        RegisterComponents();
        ResetParameters();
    }

    public ClipConfig Config { get; }

    /// <summary>The text tower's token table (V, width): used only by looking tokens up (nothing is tied to it).</summary>
    public Parameter TokenEmbedding => token_embedding.weight!;

    /// <summary>The scalar log of the logit scale (the loss takes exp, clamped at 100).</summary>
    public Parameter LogitScale => logit_scale;

    /// <summary>OpenCLIP's initialization (CLIP.init_parameters and VisionTransformer's scale = width^-1/2).</summary>
    public void ResetParameters()
    {
        using var _ = no_grad();
        init.normal_(token_embedding.weight!, 0, 0.02);
        init.normal_(positional_embedding, 0, 0.01);
        init.normal_(text_projection, 0, Math.Pow(Config.TextWidth, -0.5));
        logit_scale.FillInPlace(Config.InitLogitScale);
        transformer.ResetParameters();
        visual.ResetParameters();
    }

    /// <param name="images">(B, C, H, W) float, normalized.</param>
    /// <param name="normalize">L2-normalize the features (what the loss and evaluation use).</param>
    /// <returns>(B, EmbedDim).</returns>
    public Tensor EncodeImage(Tensor images, bool normalize = true)
    {
        if (!normalize)
        {
            return visual.forward(images);
        }
        using var features = visual.forward(images);
        return functional.normalize(features, dim: -1);
    }

    /// <param name="tokens">(B, ContextLength) int64; each row's EOT (the vocabulary's largest id) marks its feature.</param>
    /// <returns>(B, EmbedDim).</returns>
    public Tensor EncodeText(Tensor tokens, bool normalize = true)
    {
        using var embedded = token_embedding.forward(tokens);   // (B, T, W)
        using var x = embedded.Plus(positional_embedding);
        using var h = transformer.forward(x);
        using var n = ln_final.forward(h);
        using var pooled = PoolAtEndOfText(tokens, n);          // (B, W)
        if (!normalize)
        {
            return MixedPrecision.MatMul(pooled, text_projection);
        }
        using var projected = MixedPrecision.MatMul(pooled, text_projection);   // (B, W) @ (W, D) -> (B, D)
        return functional.normalize(projected, dim: -1);
    }

    /// <returns>L2-normalized image and text features, each (B, EmbedDim).</returns>
    public override (Tensor ImageFeatures, Tensor TextFeatures) forward(Tensor images, Tensor tokens) =>
        (EncodeImage(images), EncodeText(tokens));

    /// <summary>(B, T, W) -> (B, W): the hidden state at each row's EOT, found as argmax of the ids (first maximum).</summary>
    internal static Tensor PoolAtEndOfText(Tensor tokens, Tensor hidden)
    {
        var b = tokens.shape[0];
        using var eot = tokens.argmax(-1);                                          // (B,)
        using var rows = HeldScalars.Range(b, tokens.device);
        return hidden.index(rows, eot);
    }
}
