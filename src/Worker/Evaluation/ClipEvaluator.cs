using MmCluster.Worker.Model;
using MmCluster.Worker.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Evaluation;

/// <summary>
/// Runs the evaluations on a model over in-memory data, in batches and without gradients: encodes images once, builds
/// zero-shot class weights from held-out templates ("a photo of a {}." style, <c>{}</c> replaced by the class name). Inputs
/// are created on the model's device, so features and metrics are computed there.
/// </summary>
public sealed class ClipEvaluator(ClipModel model, ITextRowTokenizer tokenizer, int batchSize = 500)
{
    /// <param name="pixels">(N, C, H, W) normalized pixels, row-major.</param>
    /// <returns>(N, D) normalized features, detached from any dispose scope (the caller owns it).</returns>
    public Tensor EncodeImages(float[] pixels, int count)
    {
        var config = model.Config;
        var perImage = config.ImageChannels * config.ImageSize * config.ImageSize;
        if ((long)count * perImage != pixels.Length)
        {
            throw new ArgumentException($"{pixels.Length} pixel values are not {count} images of {perImage}");
        }
        return Encode(count, (start, n) =>
        {
            using var images = tensor(pixels.AsSpan(start * perImage, n * perImage).ToArray(),
                [n, config.ImageChannels, config.ImageSize, config.ImageSize], device: model.LogitScale.device);
            return model.EncodeImage(images);
        });
    }

    /// <returns>(N, D) normalized features of the captions (caller owns it).</returns>
    public Tensor EncodeTexts(IReadOnlyList<string> captions)
    {
        var ids = tokenizer.EncodeBatch(captions);
        var context = tokenizer.ContextLength;
        return Encode(captions.Count, (start, n) =>
        {
            using var tokens = tensor(ids.AsSpan(start * context, n * context).ToArray(), [n, context], device: model.LogitScale.device);
            return model.EncodeText(tokens);
        });
    }

    /// <summary>Zero-shot top-1 over class names with a template ensemble (templates must contain "{}").</summary>
    public double ZeroShotTop1(Tensor imageFeatures, IReadOnlyList<int> labels, IReadOnlyList<string> classNames, IReadOnlyList<string> templates)
    {
        if (templates.Count == 0 || templates.Any(t => !t.Contains("{}", StringComparison.Ordinal)))
        {
            throw new ArgumentException("zero-shot templates must be non-empty and each contain '{}'");
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var prompts = classNames.SelectMany(c => templates.Select(t => t.Replace("{}", c, StringComparison.Ordinal))).ToArray();
        var tokens = tensor(tokenizer.EncodeBatch(prompts), [prompts.Length, tokenizer.ContextLength], device: model.LogitScale.device);
        var weights = ZeroShotClassifier.BuildClassWeights(model, tokens, classNames.Count);
        var labelTensor = tensor(labels.Select(l => (long)l).ToArray(), device: imageFeatures.device);
        return ZeroShotClassifier.Top1Accuracy(imageFeatures, weights, labelTensor);
    }

    private Tensor Encode(int count, Func<int, int, Tensor> encodeChunk)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        if (count == 0)
        {
            return zeros(0, model.Config.EmbedDim, device: model.LogitScale.device).MoveToOuterDisposeScope();   // an empty split: (0, D)
        }
        var chunks = new List<Tensor>();
        for (var start = 0; start < count; start += batchSize)
        {
            chunks.Add(encodeChunk(start, Math.Min(batchSize, count - start)));
        }
        return cat(chunks, 0).MoveToOuterDisposeScope();
    }
}
