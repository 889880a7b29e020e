using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// InstructBLIP (Dai et al. 2023, arXiv:2305.06500; LAVIS blip2_vicuna_instruct.py): BLIP-2 stage 2 whose Q-Former also
/// reads the instruction. Its Q-Former ids follow the queries in the Q-Former's self-attention (bi-directional among the
/// queries and the valid instruction tokens, padding never attended: <see cref="InstructionMask"/>); only the queries
/// cross-attend to the image (<see cref="QFormerLayer"/>), so the visual features they extract depend on the instruction,
/// and only their outputs go through <c>llm_proj</c> into the frozen <c>lm</c> as a soft prompt, followed by the
/// instruction and the answer in the LM's own ids. The module names are <see cref="Blip2Stage2Model"/>'s (<c>visual</c>,
/// <c>ln_vision</c>, <c>qformer</c>, <c>llm_proj</c>, <c>lm</c>), so a blip2-stage2 checkpoint loads whole by name.
/// </summary>
public sealed class InstructBlipModel : Blip2PrefixLmBase, IImageChatModel
{
    public InstructBlipModel(ClipConfig vision, QFormerConfig qformer, CaptionLmConfig languageModel)
        : base(nameof(InstructBlipModel), vision, qformer, languageModel)
    {
        RegisterComponents();
    }

    /// <summary>
    /// What the instructblip stage freezes: the image encoder, the language model, and what no output reads: the Q-Former's
    /// ITG head (LAVIS sets Qformer.cls to None) and the last layer's text feed-forward (only the queries' outputs leave the
    /// Q-Former), so every trainable parameter gets a gradient. The rest of the Q-Former (queries, text embeddings, the
    /// other text feed-forwards), ln_vision and llm_proj train.
    /// </summary>
    /// <remarks>Module paths in <see cref="Training.FrozenParameters"/>' form (a path or its dotted descendants).</remarks>
    public IReadOnlyList<string> FrozenPrefixes =>
    [
        VisualEncoder, LanguageModelModule,
        .. new[] { "lm_transform", "lm_norm", "lm_bias", $"layers.{QFormer.Config.Layers - 1}.ffn" }.Select(m => $"{QFormerModule}.{m}"),
    ];

    /// <summary>
    /// The Q-Former's self-attention mask over [Q queries, T instruction tokens]: every row attends to the queries and to
    /// the valid instruction tokens (BLIP-2's ITM mask, <see cref="Blip2Masks.Itm"/>; LAVIS builds it from the
    /// concatenated query and instruction attention masks).
    /// </summary>
    /// <param name="instructionValid">(B, T) bool, false on padding.</param>
    /// <returns>(B, Q+T, Q+T) bool.</returns>
    public static Tensor InstructionMask(long queries, Tensor instructionValid) => Blip2Masks.Itm(queries, instructionValid);

    /// <summary>(B, C, H, W) images and (B, T) Q-Former instruction ids -> (B, Q, LmWidth): the projected query outputs.</summary>
    /// <param name="instructionValid">(B, T) bool, false on padding.</param>
    public Tensor Prefix(Tensor images, Tensor instructionQfIds, Tensor instructionValid)
    {
        var queries = QFormer.Config.Queries;
        using var imageEmbeds = EncodeImage(images);
        using var allowed = InstructionMask(queries, instructionValid);
        using var hidden = QFormer.Forward(instructionQfIds, allowed, imageEmbeds);   // (B, Q+T, W)
        using var queryOutputs = hidden.narrow(1, 0, queries);                       // (B, Q, W)
        return Project(queryOutputs);
    }

    /// <summary>
    /// The language-model loss on the LM's [prefix][instruction][answer]: (B, T) <paramref name="lmLabels"/> are shifted
    /// (lmLabels[t] the id after LM input t, -100 where not supervised), as <see cref="CaptionTargets"/> writes them.
    /// </summary>
    public Tensor Loss(Tensor images, Tensor qfIds, Tensor qfValid, Tensor lmInputIds, Tensor lmLabels)
    {
        using var prefix = Prefix(images, qfIds, qfValid);
        using var hidden = Decode(prefix, lmInputIds);                                // (B, Q+T, W)
        using var labels = CaptionTargets.WithIgnoredPrefix(lmLabels, prefix.shape[1]);
        return LanguageModelLoss.Compute(hidden, labels, LanguageModel.OutputWeight);
    }

    /// <summary>
    /// Greedy answers with the key-value cache after [prefix][(B, T) LM prompt] (every row the same length T); each row's
    /// ids up to, not including, <paramref name="endOfText"/>.
    /// </summary>
    public long[][] Generate(Tensor images, Tensor qfIds, Tensor qfValid, Tensor lmPromptIds, int maxTokens, long endOfText)
    {
        using var _ = no_grad();
        using var prefix = Prefix(images, qfIds, qfValid);
        return PromptedGreedy.Run(LanguageModel, prefix.shape[1] + lmPromptIds.shape[1], lmPromptIds.shape[1], maxTokens, endOfText,
            cache => Decode(prefix, lmPromptIds, cache));
    }

    public CaptionLmConfig LanguageConfig => LanguageModel.Config;

    /// <summary>
    /// <see cref="IImageChatModel"/>: the prefix goes before the whole LM input (InstructBLIP's [queries; instruction;
    /// answer]), so <paramref name="imagePosition"/> is not used; the instruction (required) is valid up to its end-of-text.
    /// </summary>
    public Tensor Loss(Tensor images, Tensor inputIds, Tensor labels, long imagePosition, Tensor? instructionIds = null)
    {
        var ids = RequireInstruction(instructionIds);
        using var valid = InstructionValid(ids);
        return Loss(images, ids, valid, inputIds, labels);
    }

    public long[][] Generate(Tensor images, Tensor promptIds, long imagePosition, int maxTokens, long endOfText, Tensor? instructionIds = null)
    {
        var ids = RequireInstruction(instructionIds);
        using var valid = InstructionValid(ids);
        return Generate(images, ids, valid, promptIds, maxTokens, endOfText);
    }

    /// <summary>(B, T) instruction ids -> (B, T) bool: true up to and including each row's first end-of-text.</summary>
    public Tensor InstructionValid(Tensor instructionIds)
    {
        using var isEnd = instructionIds.EqualTo(QFormer.Config.EndOfText).to_type(ScalarType.Int64);
        using var seen = isEnd.cumsum(1);
        using var before = seen - isEnd;
        return before.EqualTo(0);
    }

    private static Tensor RequireInstruction(Tensor? instructionIds) =>
        instructionIds ?? throw new ArgumentException("InstructBLIP reads the instruction: instruction ids are required", nameof(instructionIds));
}
