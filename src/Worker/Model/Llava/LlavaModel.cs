using MmCluster.Worker.Model.Lm;

namespace MmCluster.Worker.Model.Llava;

/// <summary>
/// LLaVA (Liu et al. 2023, arXiv:2304.08485; LLaVA-1.5's two-layer projector, arXiv:2310.03744): frozen CLIP patch
/// features projected into the language model's input at the image placeholder. Stage 1 (<c>llava-align</c>) trains only
/// the projector on captions; stage 2 (<c>llava-instruct</c>) trains the projector and the language model on conversations.
/// The image tower is frozen in both. State_dict: <c>visual.*</c>, <c>mm_projector.{0,2}.{weight,bias}</c>, <c>lm.*</c>.
/// </summary>
public sealed class LlavaModel : VisionLanguageModel
{
    public LlavaModel(ClipConfig vision, CaptionLmConfig languageModel) : base(nameof(LlavaModel), vision, languageModel)
    {
        RegisterComponents();
    }

    /// <summary>What feature alignment (stage 1) freezes: the image tower and the language model.</summary>
    /// <remarks>Module paths in <see cref="Training.FrozenParameters"/>' form (a path or its dotted descendants).</remarks>
    public static IReadOnlyList<string> AlignFrozenPrefixes { get; } = [VisualEncoder, LanguageModelModule];

    /// <summary>What instruction tuning (stage 2) freezes: the image tower only.</summary>
    public static IReadOnlyList<string> InstructFrozenPrefixes { get; } = [VisualEncoder];
}
