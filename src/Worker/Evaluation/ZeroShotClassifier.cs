using MmCluster.Worker.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Evaluation;

/// <summary>
/// CLIP zero-shot classification (CLIP §3.1.4, open_clip zero_shot_classifier.py): each class's text feature is the
/// mean over prompt templates of the normalized prompt features, renormalized; an image is assigned the class whose
/// feature has the largest cosine similarity. Pure: tensors in, tensors or scalars out.
/// </summary>
public static class ZeroShotClassifier
{
    /// <param name="promptTokens">(C·P, ContextLength) ids, class-major: class c's P prompts at rows c·P .. c·P+P-1.</param>
    /// <returns>(C, D) normalized class features.</returns>
    public static Tensor BuildClassWeights(ClipModel model, Tensor promptTokens, int classes)
    {
        if (classes < 1 || promptTokens.shape[0] % classes != 0)
        {
            throw new ArgumentException($"{promptTokens.shape[0]} prompt rows cannot be split evenly over {classes} classes");
        }
        var prompts = promptTokens.shape[0] / classes;
        using var _ = no_grad();
        using var features = model.EncodeText(promptTokens);             // (C·P, D), normalized
        using var grouped = features.view(classes, prompts, -1);         // (C, P, D)
        return AverageTemplates(grouped);
    }

    /// <summary>(C, P, D) normalized prompt features -> (C, D): mean over prompts, renormalized.</summary>
    public static Tensor AverageTemplates(Tensor promptFeatures)
    {
        using var mean = promptFeatures.mean([1]);
        return nn.functional.normalize(mean, dim: -1);
    }

    /// <param name="imageFeatures">(N, D) normalized.</param>
    /// <param name="classWeights">(C, D) normalized.</param>
    /// <returns>(N,) int64 predicted class indices.</returns>
    public static Tensor Predict(Tensor imageFeatures, Tensor classWeights)
    {
        using var weightsT = classWeights.t();
        using var logits = imageFeatures.matmul(weightsT);   // (N, D) @ (D, C) -> (N, C)
        return logits.argmax(-1);
    }

    /// <returns>Fraction of rows whose prediction equals the label.</returns>
    public static double Top1Accuracy(Tensor imageFeatures, Tensor classWeights, Tensor labels)
    {
        using var predicted = Predict(imageFeatures, classWeights);
        using var correct = predicted.eq(labels);
        using var count = correct.sum();
        return count.item<long>() / (double)labels.shape[0];
    }
}
