using System.Text.RegularExpressions;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Evaluation;

/// <summary>
/// Held-out evaluation of the BLIP-2 stages. Stage 1: image→text and text→image recall@1 with the ITC similarity (max over
/// queries), a hit being a retrieved item of the same class (template captions make many texts of one class identical in
/// meaning; without labels, the paired item), and ITM accuracy on each image with its own caption and with the caption of
/// the next image of another class. Stage 2: greedy captions, and the rate at which a caption names the image's class and
/// no other (whole words, so "shirt" is not found in "t-shirt").
/// </summary>
public static class Blip2Evaluator
{
    public static Blip2RetrievalResult Retrieval(Blip2Stage1Model model, ClipBatch pairs, int batchSize = 256)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        var config = model.QFormer.Config;
        var n = pairs.Count;
        var labels = pairs.Labels.Length == n ? pairs.Labels : [.. Enumerable.Range(0, n)];
        var device = DeviceInputs.DeviceOf(model);                                // evaluated where the model trains
        var images = tensor(pairs.Pixels, pairs.PixelShape, device: device);
        var captions = tensor(pairs.Tokens, [n, pairs.ContextLength], device: device);
        var queryFeatures = new List<Tensor>();
        var textFeatures = new List<Tensor>();
        var embeds = new List<Tensor>();
        for (var start = 0; start < n; start += batchSize)
        {
            var count = Math.Min(batchSize, n - start);
            var imageEmbeds = model.EncodeImage(images.narrow(0, start, count));
            var (ids, valid) = QFormerText.FromCaptions(captions.narrow(0, start, count), config.ClsId, config.EndOfText);
            var hidden = model.QFormer.Forward(ids, Blip2Masks.Itc(config.Queries, valid), imageEmbeds);
            queryFeatures.Add(model.QueryFeatures(hidden.narrow(1, 0, config.Queries)));
            textFeatures.Add(model.TextFeatures(hidden.select(1, config.Queries)));
            embeds.Add(imageEmbeds);
        }
        var allQueries = cat(queryFeatures, 0);                                   // (N, Q, D)
        var allText = cat(textFeatures, 0);                                       // (N, D)
        var similarity = allQueries.matmul(allText.t()).amax([1]);                // (N images, N texts)
        var imageToText = HitRate(similarity.argmax(1), labels);
        var textToImage = HitRate(similarity.argmax(0), labels);
        var negatives = Enumerable.Range(0, n).Select(i => NextOtherClass(labels, i)).ToArray();
        var matched = new bool[2 * n];                                            // the head's answer: own captions, then others
        for (var start = 0; start < n; start += batchSize)
        {
            var count = Math.Min(batchSize, n - start);
            var imageEmbeds = embeds[start / batchSize];
            var own = captions.narrow(0, start, count);
            var other = captions.index_select(0, tensor(negatives.Skip(start).Take(count).Select(i => (long)i).ToArray(), device: device));
            var (ids, valid) = QFormerText.FromCaptions(cat([own, other], 0), config.ClsId, config.EndOfText);
            var hidden = model.QFormer.Forward(ids, Blip2Masks.Itm(config.Queries, valid), cat([imageEmbeds, imageEmbeds], 0));
            var predicted = model.MatchLogits(hidden.narrow(1, 0, config.Queries)).argmax(1).cpu().data<long>().ToArray();
            for (var i = 0; i < count; i++)
            {
                matched[start + i] = predicted[i] == 1;
                matched[n + start + i] = predicted[count + i] == 1;
            }
        }
        var positivesRight = matched.Take(n).Count(m => m);
        var negativesRight = matched.Skip(n).Count(m => !m);
        return new Blip2RetrievalResult(
            n, imageToText, textToImage, (double)(positivesRight + negativesRight) / (2 * n),
            (double)positivesRight / n, (double)negativesRight / n, ItmByClassPair(labels, negatives, matched));
    }

    /// <summary>
    /// The ITM decisions by (image class, caption class): the positives on the diagonal (wrong = rejected), the negatives
    /// off it (wrong = accepted as a match).
    /// </summary>
    private static IReadOnlyList<ItmClassPair> ItmByClassPair(int[] labels, int[] negatives, bool[] matched)
    {
        var n = labels.Length;
        var decisions = Enumerable.Range(0, n).Select(i => (Image: labels[i], Caption: labels[i], Wrong: !matched[i]))
            .Concat(Enumerable.Range(0, n).Select(i => (Image: labels[i], Caption: labels[negatives[i]], Wrong: matched[n + i])));
        return decisions.GroupBy(d => (d.Image, d.Caption))
            .Select(g => new ItmClassPair(g.Key.Image, g.Key.Caption, g.Count(), g.Count(d => d.Wrong)))
            .OrderBy(p => p.ImageClass).ThenBy(p => p.CaptionClass).ToArray();
    }

    /// <summary>Greedy captions for every image, and how often a caption names its image's class (and no other class).</summary>
    public static Blip2CaptionResult Captions(
        Blip2Stage2Model model, ClipBatch images, IReadOnlyList<string> classNames, CaptionTokenizer tokenizer, CaptionVocabulary? vocabulary = null, int batchSize = 500, int maxTokens = 16)
    {
        model.eval();
        var captions = new string[images.Count];
        var perImage = images.Pixels.Length / images.Count;
        for (var start = 0; start < images.Count; start += batchSize)
        {
            var count = Math.Min(batchSize, images.Count - start);
            using var pixels = tensor(images.Pixels.AsSpan(start * perImage, count * perImage).ToArray(), [count, .. images.PixelShape[1..]], device: DeviceInputs.DeviceOf(model));
            var ids = CaptionGenerator.Greedy(model, pixels, maxTokens);
            for (var i = 0; i < count; i++)
            {
                var gpt2 = vocabulary is null ? ids[i] : vocabulary.ToGpt2(ids[i]);
                captions[start + i] = tokenizer.Decode([.. gpt2, CaptionTokenizer.EndOfText]);
            }
        }
        var named = Enumerable.Range(0, images.Count).Count(i => NamesOnly(captions[i], images.Labels[i], classNames));
        return new Blip2CaptionResult(images.Count, (double)named / images.Count, captions);
    }

    /// <summary>True when <paramref name="caption"/> names class <paramref name="label"/> and no other class, as whole words.</summary>
    public static bool NamesOnly(string caption, int label, IReadOnlyList<string> classNames)
    {
        var found = classNames.Select((name, i) => (i, Regex.IsMatch(caption, $@"(?<![\w-]){Regex.Escape(name)}(?![\w-])", RegexOptions.IgnoreCase)))
            .Where(x => x.Item2).Select(x => x.i).ToArray();
        return found.Length == 1 && found[0] == label;
    }

    private static double HitRate(Tensor retrieved, int[] labels)
    {
        using var host = retrieved.cpu();
        var indices = host.data<long>().ToArray();
        return (double)indices.Select((r, i) => labels[r] == labels[i] ? 1 : 0).Sum() / indices.Length;
    }

    private static int NextOtherClass(int[] labels, int i)
    {
        for (var k = 1; k < labels.Length; k++)
        {
            var j = (i + k) % labels.Length;
            if (labels[j] != labels[i])
            {
                return j;
            }
        }
        throw new ArgumentException("ITM accuracy needs held-out pairs of at least two classes");
    }
}
