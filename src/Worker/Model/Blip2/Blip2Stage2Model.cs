using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// BLIP-2 stage 2, generative learning (LAVIS blip2_opt.py Blip2OPT): frozen image encoder -> Q-Former -> <c>llm_proj</c>
/// (one Linear to the language model's width) -> prepended as a soft prompt to the caption embeddings of the frozen
/// <c>lm</c> (<see cref="CaptionLm"/>); the language-model loss is on the caption only (query and prompt positions -100).
/// Frozen parts keep requires_grad=false; the encoder and the token lookup run under no_grad, and the LM's parameters get
/// no gradient (the gradient still flows through the LM's activations back to the queries).
/// </summary>
public sealed class Blip2Stage2Model : Blip2PrefixLmBase
{
    public Blip2Stage2Model(ClipConfig vision, QFormerConfig qformer, CaptionLmConfig languageModel)
        : base(nameof(Blip2Stage2Model), vision, qformer, languageModel)
    {
        RegisterComponents();
    }

    /// <summary>
    /// What stage 2 freezes (BLIP-2 §3.3): the image encoder, the language model, and the Q-Former's text-only parts
    /// (word and position embeddings, ITG head, text feed-forwards), which LAVIS deletes in Blip2OPT.
    /// </summary>
    /// <remarks>Module paths in <see cref="Training.FrozenParameters"/>' form (a path or its dotted descendants).</remarks>
    public IReadOnlyList<string> FrozenPrefixes =>
    [
        VisualEncoder, LanguageModelModule,
        .. new[] { "word_embeddings", "position_embeddings", "lm_transform", "lm_norm", "lm_bias" }.Select(m => $"{QFormerModule}.{m}"),
        .. Enumerable.Range(0, QFormer.Config.Layers).Select(i => $"{QFormerModule}.layers.{i}.ffn"),
    ];

    /// <summary>(B, C, H, W) -> (B, Q, LmWidth): the projected query outputs, the LM's soft prompt.</summary>
    public Tensor Prefix(Tensor images)
    {
        using var imageEmbeds = EncodeImage(images);
        using var queries = QFormer.EncodeQueries(imageEmbeds);     // (B, Q, W)
        return Project(queries);
    }

    /// <summary>Stage 2's loss on (B, T) caption rows; the first <paramref name="promptTokens"/> caption tokens are not predicted.</summary>
    public Tensor CaptionLoss(Tensor images, Tensor captions, int promptTokens = 0)
    {
        using var prefix = Prefix(images);
        var lm = LanguageModel;
        using var inputs = CaptionTargets.Inputs(captions, lm.Config.EndOfText);          // [BOS, row[..T-1]]
        using var hidden = Decode(prefix, inputs);                                         // (B, Q+T, W)
        using var rowLabels = CaptionTargets.Labels(captions, lm.Config.EndOfText, promptTokens);
        using var labels = CaptionTargets.WithIgnoredPrefix(rowLabels, prefix.shape[1]);
        return LanguageModelLoss.Compute(hidden, labels, lm.OutputWeight);
    }
}
