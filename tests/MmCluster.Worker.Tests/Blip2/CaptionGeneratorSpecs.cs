using MmCluster.Worker.Model.Blip2;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

public sealed class CaptionGeneratorSpecs
{
    [Fact]
    public void Should_equal_greedy_decoding_when_beam_search_keeps_one_beam()
    {
        using var model = Blip2Fixtures.NewStage2(seed: 5);
        using var scope = NewDisposeScope();
        var (images, _) = Blip2Fixtures.Tensors(Blip2Fixtures.Batch(4));

        var greedy = CaptionGenerator.Greedy(model, images, maxTokens: 6);

        for (var i = 0; i < 4; i++)
        {
            var beam = CaptionGenerator.Beam(model, images[i], beams: 1, maxTokens: 6);
            Assert.Equal(greedy[i], beam);
        }
        Assert.All(greedy, ids => Assert.DoesNotContain(model.LanguageModel.Config.EndOfText, ids));
    }

    [Fact]
    public void Should_score_at_least_the_greedy_caption_when_beam_search_keeps_three_beams()
    {
        using var model = Blip2Fixtures.NewStage2(seed: 6);
        using var scope = NewDisposeScope();
        var (images, _) = Blip2Fixtures.Tensors(Blip2Fixtures.Batch(1));

        var beam = CaptionGenerator.Beam(model, images[0], beams: 3, maxTokens: 4, lengthPenalty: 0);
        var greedy = CaptionGenerator.Greedy(model, images, maxTokens: 4)[0];

        Assert.True(beam.Length <= 4);
        Assert.True(LogProbability(model, images[0], beam) >= LogProbability(model, images[0], greedy) - 1e-5);
    }

    /// <summary>log p(tokens, then EOT if shorter than the limit) under the model.</summary>
    private static double LogProbability(Blip2Stage2Model model, Tensor image, long[] tokens)
    {
        using var _ = no_grad();
        var eot = model.LanguageModel.Config.EndOfText;
        var prefix = model.Prefix(image.unsqueeze(0));
        var sequence = tokens.Length < 4 ? [.. tokens, eot] : tokens;
        var inputs = tensor((long[])[eot, .. sequence[..^1]], [1, sequence.Length]);
        var logProbs = model.LanguageModel.Logits(model.Decode(prefix, inputs)).log_softmax(-1);   // (1, P+T, V)
        var p = prefix.shape[1];
        return sequence.Select((t, i) => (double)logProbs[0, p + i, t].item<float>()).Sum();
    }
}
