using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Evaluation;

public sealed class ZeroShotClassifierSpecs
{
    [Fact]
    public void Should_average_templates_and_renormalize_when_building_class_weights()
    {
        using var scope = NewDisposeScope();
        // class 0: prompts along x and y -> (1,1)/sqrt2; class 1: both along z -> z.
        var prompts = tensor(new float[] { 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1 }, [2, 2, 3]);

        var weights = ZeroShotClassifier.AverageTemplates(prompts);

        var s = (float)(1 / Math.Sqrt(2));
        Assert.Equal(new[] { s, s, 0, 0, 0, 1 }, weights.data<float>().ToArray(), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Should_score_the_known_fraction_when_images_lie_near_their_class()
    {
        using var scope = NewDisposeScope();
        var classes = eye(3);                                                   // class c points along axis c
        var images = nn.functional.normalize(tensor(new float[]
        {
            0.9f, 0.1f, 0, 0.2f, 0.8f, 0.1f, 0, 0.3f, 0.7f, 0.6f, 0.1f, 0.1f,    // nearest: 0, 1, 2, 0
        }, [4, 3]), dim: -1);
        var labels = tensor(new long[] { 0, 1, 2, 2 });                          // the last one is wrong

        Assert.Equal(new long[] { 0, 1, 2, 0 }, ZeroShotClassifier.Predict(images, classes).data<long>().ToArray());
        Assert.Equal(0.75, ZeroShotClassifier.Top1Accuracy(images, classes, labels), 12);
    }

    [Fact]
    public void Should_give_unit_class_weights_per_class_when_encoding_prompts_with_a_model()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(21);
        using var model = new ClipModel(ClipConfig.Micro);
        var eot = ClipConfig.Micro.EndOfText;
        var prompts = tensor(new long[]
        {
            1, 2, eot, 0, 0, 0, 0, 0, 3, 2, eot, 0, 0, 0, 0, 0,      // class 0, two templates
            1, 5, eot, 0, 0, 0, 0, 0, 3, 5, eot, 0, 0, 0, 0, 0,      // class 1
        }, [4, 8]);

        var weights = ZeroShotClassifier.BuildClassWeights(model, prompts, classes: 2);

        Assert.Equal(new long[] { 2, ClipConfig.Micro.EmbedDim }, weights.shape);
        Assert.True(weights.norm(1).sub(1).abs().max().item<float>() < 1e-5);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
