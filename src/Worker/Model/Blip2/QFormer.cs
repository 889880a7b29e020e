using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// The Querying Transformer of BLIP-2 (LAVIS blip2_qformer.py + Qformer.py BertLMHeadModel): learned
/// <c>query_tokens</c> and the text embeddings (word + position) are concatenated and layer-normed, run through
/// <see cref="QFormerLayer"/>s under an objective's mask (<see cref="Blip2Masks"/>) with cross-attention to the image, and
/// an ITG head (transform, then the decoder tied to <c>word_embeddings</c>, plus <c>lm_bias</c>) predicts caption tokens.
/// </summary>
public sealed class QFormer : nn.Module
{
    private readonly Parameter query_tokens;
    private readonly Embedding word_embeddings;
    private readonly Parameter position_embeddings;
    private readonly LayerNorm embeddings_norm;
    private readonly ModuleList<QFormerLayer> layers;
    private readonly Linear lm_transform;
    private readonly GELU lm_gelu;
    private readonly LayerNorm lm_norm;
    private readonly Parameter lm_bias;

    public QFormer(QFormerConfig config, long imageWidth) : base(nameof(QFormer))
    {
        Config = config.Validate();
        query_tokens = Parameter(zeros(1, config.Queries, config.Width));
        word_embeddings = Embedding(config.EmbeddingRows, config.Width);
        position_embeddings = Parameter(zeros(config.ContextLength, config.Width));
        embeddings_norm = LayerNorm(config.Width);
        layers = new ModuleList<QFormerLayer>();
        for (var i = 0; i < config.Layers; i++)
        {
            layers.Add(new QFormerLayer(config, imageWidth, config.HasCrossAttention(i)));
        }
        lm_transform = Linear(config.Width, config.Width);
        lm_gelu = GELU();
        lm_norm = LayerNorm(config.Width);
        lm_bias = Parameter(zeros(config.EmbeddingRows));
        RegisterComponents();
        ResetParameters();
    }

    public QFormerConfig Config { get; }

    /// <summary>BERT's init: weights, embeddings and queries ~ N(0, σ²) (σ = <see cref="QFormerConfig.InitStd"/>), biases zero, norms identity.</summary>
    public void ResetParameters()
    {
        var std = Config.InitStd;
        using var _ = no_grad();
        init.normal_(query_tokens, 0, std);
        init.normal_(word_embeddings.weight!, 0, std);
        init.normal_(position_embeddings, 0, std);
        foreach (var (_, module) in named_modules())
        {
            if (module is Linear linear)
            {
                init.normal_(linear.weight, 0, std);
                init.zeros_(linear.bias!);
            }
        }
    }

    /// <param name="textIds">(B, T) Q-Former ids, or null for the queries alone.</param>
    /// <param name="allowed">(B, Q+T, Q+T) bool mask from <see cref="Blip2Masks"/>; null with no text.</param>
    /// <param name="image">(B, N, E) image features (after ln_vision).</param>
    /// <returns>(B, Q+T, W) hidden states, queries first.</returns>
    public Tensor Forward(Tensor? textIds, Tensor? allowed, Tensor image)
    {
        var b = image.shape[0];
        using var queries = query_tokens.expand(b, -1, -1);             // (B, Q, W)
        using var embedded = textIds is null ? queries.alias() : EmbedWithText(queries, textIds);
        var h = embeddings_norm.forward(embedded);
        using var additive = allowed is null ? null : Blip2Masks.ToAdditive(allowed, h.dtype);
        foreach (var layer in layers)
        {
            var next = layer.Forward(h, Config.Queries, additive, image);
            h.Dispose();
            h = next;
        }
        return h;
    }

    /// <summary>(B, N, E) image features -> (B, Q, W) query outputs (no text).</summary>
    public Tensor EncodeQueries(Tensor image) => Forward(null, null, image);

    /// <summary>ITG's loss: (B, T, W) text hidden states and (B, T) labels (-100 ignored), label-smoothed as in LAVIS.</summary>
    public Tensor TextLoss(Tensor textHidden, Tensor labels)
    {
        using var transformed = TransformForPrediction(textHidden);
        return LanguageModelLoss.Compute(transformed, labels, word_embeddings.weight!, lm_bias, Config.LabelSmoothing);
    }

    private Tensor TransformForPrediction(Tensor hidden)
    {
        using var d = MixedPrecision.Linear(lm_transform, hidden);
        using var a = lm_gelu.forward(d);
        return lm_norm.forward(a);
    }

    private Tensor EmbedWithText(Tensor queries, Tensor textIds)
    {
        var t = textIds.shape[1];
        if (t > Config.ContextLength)
        {
            throw new ArgumentException($"{t} text tokens exceed the Q-Former's context of {Config.ContextLength}", nameof(textIds));
        }
        using var words = word_embeddings.forward(textIds);             // (B, T, W)
        using var positions = position_embeddings.narrow(0, 0, t);
        using var text = words.Plus(positions);
        return cat([queries, text], 1);                                 // (B, Q+T, W)
    }
}
