using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Evaluation;

public sealed class ClipEvaluatorSpecs
{
    private static readonly ClipConfig Config = ClipConfig.Micro with { VocabSize = 50257 };

    [Fact]
    public void Should_match_one_forward_pass_when_encoding_images_in_chunks()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(31);
        using var model = new ClipModel(Config);
        var pixels = randn(7, 1, 8, 8);
        var evaluator = new ClipEvaluator(model, new CaptionTokenizer(Config.ContextLength), batchSize: 3);

        using var chunked = evaluator.EncodeImages(pixels.data<float>().ToArray(), 7);
        var whole = model.EncodeImage(pixels);

        Assert.Equal(new long[] { 7, Config.EmbedDim }, chunked.shape);
        Assert.True(chunked.allclose(whole, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Should_return_a_fraction_when_classifying_with_held_out_templates()
    {
        random.manual_seed(32);
        using var model = new ClipModel(Config);
        var evaluator = new ClipEvaluator(model, new CaptionTokenizer(Config.ContextLength));
        using var features = evaluator.EncodeImages(new float[4 * 64], 4);

        var top1 = evaluator.ZeroShotTop1(features, [0, 1, 0, 1], ["coat", "bag"], ["a blurry photo of a {}."]);

        Assert.Equal(0.5, top1, 12);   // four identical images get one prediction: half the labels match it
    }

    [Fact]
    public void Should_throw_when_a_template_has_no_placeholder()
    {
        using var model = new ClipModel(Config);
        var evaluator = new ClipEvaluator(model, new CaptionTokenizer(Config.ContextLength));
        using var features = zeros(1, Config.EmbedDim);

        Assert.Throws<ArgumentException>(() => evaluator.ZeroShotTop1(features, [0], ["coat"], ["a photo"]));
    }
}
