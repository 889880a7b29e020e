using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Llava;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Llava;

/// <summary>Micro LLaVA-layout models (8x8 images, 4 patch tokens, two vision and two LM blocks) and inputs for the specs.</summary>
internal static class LlavaFixtures
{
    public static ClipConfig Vision { get; } = ClipConfig.Micro with { VisionLayers = 2 };

    public static CaptionLmConfig Lm { get; } = CaptionLmConfig.Micro with { Layers = 2 };

    public static PartialLoraConfig Plora { get; } = new() { Rank = 2, Alpha = 4 };

    public static LlavaModel NewLlava(long seed = 16)
    {
        random.manual_seed(seed);
        return new LlavaModel(Vision, Lm);
    }

    public static PloraModel NewPlora(long seed = 16)
    {
        random.manual_seed(seed);
        return new PloraModel(Vision, Lm, Plora);
    }

    /// <summary>(B, 1, 8, 8) random pixels.</summary>
    public static Tensor Images(long rows, long seed) =>
        randn([rows, 1, Vision.ImageSize, Vision.ImageSize], generator: new Generator((ulong)seed));

    /// <summary>(B, T) random ids below the end of text.</summary>
    public static Tensor Ids(long rows, long length, long seed) =>
        randint(0, Lm.EndOfText, [rows, length], dtype: ScalarType.Int64, generator: new Generator((ulong)seed));

    /// <summary>Shifted labels for <paramref name="ids"/>: labels[t] = ids[t+1], the end of text after the last.</summary>
    public static Tensor Labels(Tensor ids)
    {
        using var next = ids.narrow(1, 1, ids.shape[1] - 1);
        using var end = full([ids.shape[0], 1], Lm.EndOfText, ScalarType.Int64);
        return cat([next, end], 1);
    }

    /// <summary>
    /// Greedy decoding without a cache: every step re-runs the whole sequence through <paramref name="hidden"/>
    /// ((B, T') ids -> (B, L, W)); the reference the cached generators are checked against.
    /// </summary>
    public static long[][] NaiveGreedy(CaptionLm lm, Tensor prompt, int maxTokens, Func<Tensor, Tensor> hidden)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var rows = (int)prompt.shape[0];
        var outputs = Enumerable.Range(0, rows).Select(_ => new List<long>()).ToArray();
        var done = new bool[rows];
        var ids = prompt;
        for (var step = 0; step < maxTokens && !done.All(d => d); step++)
        {
            var h = hidden(ids);
            var next = lm.Logits(h.select(1, h.shape[1] - 1)).argmax(1);
            var values = next.data<long>().ToArray();
            for (var i = 0; i < rows; i++)
            {
                done[i] = done[i] || values[i] == lm.Config.EndOfText;
                if (!done[i])
                {
                    outputs[i].Add(values[i]);
                }
            }
            ids = cat([ids, next.unsqueeze(1)], 1);
        }
        return [.. outputs.Select(o => o.ToArray())];
    }

    /// <summary>
    /// Greedy answers of <paramref name="model"/> to three random prompts of 3 tokens with the image at
    /// <paramref name="imagePosition"/>: the cached generator's and <see cref="NaiveGreedy"/>'s.
    /// </summary>
    public static (long[][] Cached, long[][] Naive) CachedAndNaive(VisionLanguageModel model, long imagePosition, long seed)
    {
        using var scope = NewDisposeScope();
        var (images, prompt) = (Images(3, seed), Ids(3, 3, seed + 1));
        var cached = model.Generate(images, prompt, imagePosition, maxTokens: 5, Lm.EndOfText);
        return (cached, NaiveGreedy(model.LanguageModel, prompt, 5, ids => model.Forward(images, ids, imagePosition)));
    }

    /// <summary>Runs <paramref name="step"/> once to warm up, then twice more: the live tensor count must not grow.</summary>
    public static void AssertFlatLiveTensors(Action step)
    {
        step();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 2; i++)
        {
            step();
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    /// <summary>Names of the parameters that received a non-zero gradient, and of those with any gradient.</summary>
    public static (HashSet<string> NonZero, HashSet<string> Any) Gradients(nn.Module model)
    {
        var any = model.named_parameters().Where(p => p.parameter.grad is not null).Select(p => p.name).ToHashSet();
        var nonZero = model.named_parameters()
            .Where(p => p.parameter.grad is { } g && g.abs().sum().item<float>() > 0)
            .Select(p => p.name).ToHashSet();
        return (nonZero, any);
    }

    /// <summary>torch.equal: the same shape and every element equal (float32).</summary>
    public static bool BitEqual(Tensor a, Tensor b)
    {
        using var x = a.contiguous();
        using var y = b.contiguous();
        return a.shape.SequenceEqual(b.shape) && x.data<float>().ToArray().SequenceEqual(y.data<float>().ToArray());
    }

    public static float MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    public static void AssertStartsWithAny(IEnumerable<string> names, params string[] prefixes) =>
        Assert.All(names, n => Assert.Contains(prefixes, p => n.StartsWith(p, StringComparison.Ordinal)));

    /// <summary>The language-model loss as cross-entropy over hand-listed (sequence position, target) pairs of row 0.</summary>
    public static Tensor ManualLoss(CaptionLm lm, Tensor hidden, IEnumerable<(long Position, long Target)> pairs)
    {
        var list = pairs.ToList();
        var rows = stack(list.Select(p => hidden[0, p.Position]).ToArray());          // (N, W)
        var targets = tensor(list.Select(p => p.Target).ToArray());
        return nn.functional.cross_entropy(lm.Logits(rows), targets);
    }
}
