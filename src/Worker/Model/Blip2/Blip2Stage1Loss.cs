using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch.nn.functional;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// Stage 1's forward and losses, distributed as LAVIS's Blip2Qformer.forward does it: ITC over the gathered features
/// (<see cref="Blip2ItcLoss"/>); ITM with one hard negative image per text and one hard negative text per image from the
/// global batch (image features gathered with gradient, text ids and groups without), b positives and 2b negatives through
/// the bi-directional mask, the positives weighted by <see cref="QFormerConfig.ItmPositiveWeight"/>; ITG, the captioning loss under the multimodal causal mask. Collectives run in the same order
/// on every rank: ITC features, ITM image features, ITM text ids.
/// </summary>
public static class Blip2Stage1Loss
{
    /// <param name="images">(b, C, H, W).</param>
    /// <param name="captions">(b, T) caption rows (ids, EOT, padding).</param>
    /// <param name="groups">(b,) int64 ids of pairs that match each other (class labels), or null: only the pair itself.</param>
    /// <param name="generator">Seeded generator for the hard negatives.</param>
    public static Blip2Stage1Losses Compute(
        Blip2Stage1Model model, Tensor images, Tensor captions, Tensor? groups, IFeatureGatherer gatherer, Generator generator)
    {
        var config = model.QFormer.Config;
        using var imageEmbeds = model.EncodeImage(images);                                  // (b, N, E)
        var (textIds, textValid) = QFormerText.FromCaptions(captions, config.ClsId, config.EndOfText);
        using var ids = textIds;
        using var valid = textValid;
        var (itc, imageToText, textToImage) = Contrastive(model, imageEmbeds, textIds, textValid, gatherer);
        var itm = Matching(model, imageEmbeds, textIds, textValid, groups, imageToText, textToImage, gatherer, generator);
        var itg = Generation(model, imageEmbeds, captions);
        return new Blip2Stage1Losses(itc, itm, itg, itc.Plus(itm).Plus(itg));
    }

    /// <summary>ITC alone (what the gradient-equivalence spec checks): forward under the uni-modal mask, then the loss.</summary>
    public static Tensor ComputeItc(Blip2Stage1Model model, Tensor images, Tensor captions, IFeatureGatherer gatherer)
    {
        var config = model.QFormer.Config;
        using var imageEmbeds = model.EncodeImage(images);
        var (textIds, textValid) = QFormerText.FromCaptions(captions, config.ClsId, config.EndOfText);
        using (textIds)
        using (textValid)
        {
            var (loss, i2t, t2i) = Contrastive(model, imageEmbeds, textIds, textValid, gatherer);
            i2t.Dispose();
            t2i.Dispose();
            return loss;
        }
    }

    private static (Tensor Loss, Tensor ImageToText, Tensor TextToImage) Contrastive(
        Blip2Stage1Model model, Tensor imageEmbeds, Tensor textIds, Tensor textValid, IFeatureGatherer gatherer)
    {
        var queries = model.QFormer.Config.Queries;
        using var allowed = Blip2Masks.Itc(queries, textValid);
        using var hidden = model.QFormer.Forward(textIds, allowed, imageEmbeds);          // (b, Q+T, W)
        using var queryHidden = hidden.narrow(1, 0, queries);
        using var clsHidden = hidden.select(1, queries);                                    // (b, W): the [CLS] position
        using var queryFeatures = model.QueryFeatures(queryHidden);
        using var textFeatures = model.TextFeatures(clsHidden);
        return Blip2ItcLoss.Compute(queryFeatures, textFeatures, model.Temperature, gatherer, model.QFormer.Config.LabelSmoothing);
    }

    private static Tensor Matching(
        Blip2Stage1Model model, Tensor imageEmbeds, Tensor textIds, Tensor textValid, Tensor? groups,
        Tensor imageToText, Tensor textToImage, IFeatureGatherer gatherer, Generator generator)
    {
        var b = imageEmbeds.shape[0];
        var queries = model.QFormer.Config.Queries;
        using var imageWorld = gatherer.AllGather(imageEmbeds);                            // (B, N, E), with gradient
        var (idsWorld, validWorld, groupsWorld) = GatherText(textIds, textValid, groups, gatherer);
        using (idsWorld)
        using (validWorld)
        using (groupsWorld)
        {
            var firstPositive = gatherer.RowOffset(b);
            var sharpness = model.QFormer.Config.ItmNegativeSharpness;
            using var negativeImages = HardNegativeSampler.Sample(textToImage, firstPositive, generator, groups, groupsWorld, sharpness);
            using var negativeTexts = HardNegativeSampler.Sample(imageToText, firstPositive, generator, groups, groupsWorld, sharpness);
            using var imageNeg = imageWorld.index_select(0, negativeImages);                // (b, N, E)
            using var idsNeg = idsWorld.index_select(0, negativeTexts);                     // (b, T)
            using var validNeg = validWorld.index_select(0, negativeTexts);
            using var idsAll = cat([textIds, textIds, idsNeg], 0);                          // pos, pos, neg text
            using var validAll = cat([textValid, textValid, validNeg], 0);
            using var imageAll = cat([imageEmbeds, imageNeg, imageEmbeds], 0);              // pos, neg image, pos
            using var allowed = Blip2Masks.Itm(queries, validAll);
            using var hidden = model.QFormer.Forward(idsAll, allowed, imageAll);           // (3b, Q+T, W)
            using var queryHidden = hidden.narrow(1, 0, queries);
            using var logits = model.MatchLogits(queryHidden);                             // (3b, 2)
            return MatchingLoss(logits, b, model.QFormer.Config.ItmPositiveWeight);
        }
    }

    /// <summary>
    /// ITM's loss on (3b, 2) logits whose first b rows are positives (label 1) and the other 2b negatives (label 0): the
    /// cross-entropy, each positive row weighted by <paramref name="positiveWeight"/> and each negative by 1, over the sum
    /// of the weights (at 1, LAVIS's plain mean).
    /// </summary>
    internal static Tensor MatchingLoss(Tensor logits, long b, double positiveWeight)
    {
        using var positives = ones(b, ScalarType.Int64, logits.device);
        using var negatives = zeros(2 * b, ScalarType.Int64, logits.device);
        using var labels = cat([positives, negatives], 0);
        using var classWeights = positiveWeight == 1 ? null : tensor(new[] { 1f, (float)positiveWeight }, device: logits.device);
        return cross_entropy(logits, labels, classWeights);
    }

    /// <summary>One collective without gradient for the text side: ids, validity and groups as float32 (ids &lt; 2^24 are exact).</summary>
    private static (Tensor Ids, Tensor Valid, Tensor? Groups) GatherText(Tensor textIds, Tensor textValid, Tensor? groups, IFeatureGatherer gatherer)
    {
        var t = textIds.shape[1];
        using var _ = no_grad();
        using var ids = textIds.to_type(ScalarType.Float32);
        using var valid = textValid.to_type(ScalarType.Float32);
        using var group = groups is null ? zeros([textIds.shape[0], 1], device: textIds.device) : groups.to_type(ScalarType.Float32).unsqueeze(1);
        using var packed = cat([ids, valid, group], 1);                                     // (b, 2T+1)
        using var all = gatherer.AllGather(packed);                                         // (B, 2T+1)
        using var idsAll = all.narrow(1, 0, t);
        using var validAll = all.narrow(1, t, t);
        using var groupAll = all.select(1, 2 * t);
        return (
            idsAll.to_type(ScalarType.Int64),
            validAll.to_type(ScalarType.Bool),
            groups is null ? null : groupAll.to_type(ScalarType.Int64));
    }

    private static Tensor Generation(Blip2Stage1Model model, Tensor imageEmbeds, Tensor captions)
    {
        var config = model.QFormer.Config;
        var (decoderIds, textValid) = QFormerText.FromCaptions(captions, config.DecId, config.EndOfText);
        using (decoderIds)
        using (textValid)
        {
            using var labels = Lm.CaptionTargets.Labels(captions, config.EndOfText);       // text position p predicts row[p]
            using var allowed = Blip2Masks.Itg(config.Queries, textValid);
            using var hidden = model.QFormer.Forward(decoderIds, allowed, imageEmbeds);
            using var textHidden = hidden.narrow(1, config.Queries, decoderIds.shape[1]);
            return model.QFormer.TextLoss(textHidden, labels);
        }
    }
}
