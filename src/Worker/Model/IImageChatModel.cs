using MmCluster.Worker.Model.Lm;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model;

/// <summary>
/// A model that answers conversations about an image through a language model (LLaVA, Partial LoRA): the image's tokens
/// are spliced into the text at an input position; input position t predicts label t (-100: none), as
/// <see cref="Lm.CaptionTargets"/>. A model that reads the instruction beside the image (InstructBLIP) takes it as
/// (B, Ti) <c>instructionIds</c>: each row's question, its end-of-text, then padding.
/// </summary>
public interface IImageChatModel
{
    CaptionLmConfig LanguageConfig { get; }

    /// <summary>Mean next-token loss over the supervised positions of (B, T) inputs and labels.</summary>
    Tensor Loss(Tensor images, Tensor inputIds, Tensor labels, long imagePosition, Tensor? instructionIds = null);

    /// <summary>Greedy answers to (B, T) prompts of equal length: per row the generated ids up to (not including) <paramref name="endOfText"/>.</summary>
    long[][] Generate(Tensor images, Tensor promptIds, long imagePosition, int maxTokens, long endOfText, Tensor? instructionIds = null);
}
