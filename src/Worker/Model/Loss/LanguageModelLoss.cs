using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace MmCluster.Worker.Model.Loss;

/// <summary>
/// Token-level cross-entropy with ignore-index masking, computing the vocabulary logits only at the positions that have a
/// label (the result equals <c>cross_entropy(logits, labels, ignore_index=-100)</c> over all positions, at a fraction of the
/// cost when the vocabulary is GPT-2's 50,257 ids and most positions are padding).
/// </summary>
public static class LanguageModelLoss
{
    /// <param name="hidden">(B, L, W) final hidden states; position i predicts labels[:, i].</param>
    /// <param name="labels">(B, L) int64 with <see cref="CaptionTargets.IgnoreIndex"/> where there is no target.</param>
    /// <param name="outputWeight">(V, W) output head (tied embedding).</param>
    /// <param name="outputBias">Optional (V,) bias.</param>
    public static Tensor Compute(Tensor hidden, Tensor labels, Tensor outputWeight, Tensor? outputBias = null, double labelSmoothing = 0)
    {
        if (hidden.shape[0] != labels.shape[0] || hidden.shape[1] != labels.shape[1])
        {
            throw new ArgumentException($"hidden states [{string.Join(", ", hidden.shape)}] and labels [{string.Join(", ", labels.shape)}] disagree on (B, L)");
        }
        using var valid = labels.NotEqualTo(CaptionTargets.IgnoreIndex);
        using var selected = hidden.index(valid);                  // (N, W)
        using var targets = labels.index(valid);                   // (N,)
        if (targets.shape[0] == 0)
        {
            throw new ArgumentException("every label is ignored: no token to predict");
        }
        using var logits = MixedPrecision.Linear(selected, outputWeight, outputBias);   // (N, W) @ (W, V) -> (N, V)
        return cross_entropy(logits, targets, label_smoothing: labelSmoothing);
    }
}
