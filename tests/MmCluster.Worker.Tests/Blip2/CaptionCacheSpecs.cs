using MmCluster.Worker.Model.Blip2;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Blip2;

/// <summary>
/// Generation with the key-value cache against generation that re-runs the whole sequence every step: the same ids token
/// for token and the same per-step logits (float32, 1e-5), on a micro model (seed 2) whose captions end at different
/// steps; the cases are asserted to be uneven, so the comparison covers rows and beams that stop early. The model's
/// values come from the process-wide generator, hence the serial collection.
/// </summary>
[Collection(SerialTorchRandom.Name)]
public sealed class CaptionCacheSpecs
{
    private const long UnevenSeed = 2;
    private const int MaxTokens = 8;
    private const double Tolerance = 1e-5;

    [Fact]
    public void Should_generate_the_uncached_greedy_captions_and_logits_when_the_cache_is_on()
    {
        using var model = Blip2Fixtures.NewStage2(UnevenSeed);
        using var scope = NewDisposeScope();
        var (images, _) = Blip2Fixtures.Tensors(Blip2Fixtures.Batch(8));
        var uncachedLogits = new List<float[,]>();
        var cachedLogits = new List<float[,]>();

        var uncached = CaptionGenerator.Greedy(model, images, MaxTokens, useCache: false, stepLogits: (_, l) => uncachedLogits.Add(Values(l)));
        var cached = CaptionGenerator.Greedy(model, images, MaxTokens, useCache: true, stepLogits: (_, l) => cachedLogits.Add(Values(l)));

        Assert.True(uncached.Select(c => c.Length).Distinct().Count() > 1, "rows end at different steps");
        Assert.Contains(uncached, c => c.Length < MaxTokens);
        Assert.Equal(uncached, cached);
        AssertClose(uncachedLogits, cachedLogits);
    }

    [Fact]
    public void Should_keep_the_uncached_beams_and_logits_when_the_cache_is_reordered()
    {
        using var model = Blip2Fixtures.NewStage2(UnevenSeed);
        using var scope = NewDisposeScope();
        var (images, _) = Blip2Fixtures.Tensors(Blip2Fixtures.Batch(8));
        for (var i = 0; i < 4; i++)
        {
            var uncachedLogits = new List<float[,]>();
            var cachedLogits = new List<float[,]>();

            var uncached = CaptionGenerator.BeamHypotheses(model, images[i], beams: 3, MaxTokens, useCache: false, stepLogits: (_, l) => uncachedLogits.Add(Values(l)));
            var cached = CaptionGenerator.BeamHypotheses(model, images[i], beams: 3, MaxTokens, useCache: true, stepLogits: (_, l) => cachedLogits.Add(Values(l)));

            Assert.Equal(uncached.Select(h => h.Tokens), cached.Select(h => h.Tokens));
            Assert.Equal(uncached.Select(h => h.Ended), cached.Select(h => h.Ended));
            Assert.All(uncached.Zip(cached), p => Assert.Equal(p.First.Score, p.Second.Score, Tolerance));
            AssertClose(uncachedLogits, cachedLogits);
            if (i == 0)
            {
                // image 0: hypotheses end after 2 and 5 tokens, so the cache is reordered across steps where beams finish
                Assert.True(uncached.Where(h => h.Ended).Select(h => h.Tokens.Length).Distinct().Count() > 1, "beams end at different steps");
                Assert.True(uncachedLogits.Count > 2 && uncachedLogits.Skip(1).All(l => l.GetLength(0) == 3));
            }
        }
    }

    [Fact]
    public void Should_keep_live_tensor_count_flat_when_cached_captions_repeat()
    {
        using var model = Blip2Fixtures.NewStage2(UnevenSeed);
        var (images, _) = Blip2Fixtures.Tensors(Blip2Fixtures.Batch(4));
        using var __ = images;
        void Caption()
        {
            CaptionGenerator.Greedy(model, images, MaxTokens);
            using var image = images[0];
            CaptionGenerator.Beam(model, image, beams: 3, MaxTokens);
        }

        Caption();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 3; i++)
        {
            Caption();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    /// <summary>(rows, V) logits as a host array.</summary>
    private static float[,] Values(Tensor logits)
    {
        var (rows, vocab) = ((int)logits.shape[0], (int)logits.shape[1]);
        var flat = logits.data<float>().ToArray();
        var values = new float[rows, vocab];
        Buffer.BlockCopy(flat, 0, values, 0, flat.Length * sizeof(float));
        return values;
    }

    private static void AssertClose(List<float[,]> expected, List<float[,]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var step = 0; step < expected.Count; step++)
        {
            Assert.Equal(expected[step].GetLength(0), actual[step].GetLength(0));
            var worst = expected[step].Cast<float>().Zip(actual[step].Cast<float>(), (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= Tolerance, $"step {step}: logits differ by {worst}");
        }
    }
}
