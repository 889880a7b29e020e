using MmCluster.Worker.Model.Lm;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Llava;

/// <summary>
/// InternLM-XComposer2's recipe (arXiv:2401.16420) on the LLaVA layout: the same frozen image tower, projector and language
/// model as <see cref="LlavaModel"/> (same names, so an llava checkpoint loads by name), plus <see cref="PartialLora"/>
/// deltas under <c>plora</c> that act only at the image tokens' positions. Trains the deltas and the projector; text-only
/// input gives exactly the base language model's outputs.
/// </summary>
public sealed class PloraModel : VisionLanguageModel
{
    public const string DeltasModule = "plora";

    private readonly PartialLora plora;

    public PloraModel(ClipConfig vision, CaptionLmConfig languageModel, PartialLoraConfig deltas)
        : base(nameof(PloraModel), vision, languageModel)
    {
        plora = new PartialLora(languageModel, deltas);
        RegisterComponents();
    }

    public PartialLora Deltas => plora;

    /// <summary>What the plora stage freezes: the image tower and the language model (it trains plora and mm_projector).</summary>
    public static IReadOnlyList<string> FrozenPrefixes { get; } = [VisualEncoder, LanguageModelModule];

    /// <summary>
    /// (B, T) ids -> (B, T, V) logits of text-only input through the deltas with an all-false image mask: the base
    /// <see cref="CaptionLm"/>'s logits, bit for bit.
    /// </summary>
    public Tensor TextLogits(Tensor inputIds)
    {
        using var embedded = LanguageModel.EmbedInputs(inputIds, 0);
        using var mask = zeros([inputIds.shape[0], inputIds.shape[1], 1], ScalarType.Bool, inputIds.device);
        using var hidden = LanguageModel.ForwardEmbeddings(embedded, null, plora.At(mask));
        return LanguageModel.Logits(hidden);
    }

    protected override PartialLora? ImageDeltas => plora;
}
