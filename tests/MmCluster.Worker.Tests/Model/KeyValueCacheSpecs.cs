using MmCluster.Worker.Model.Lm;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Model;

/// <summary>
/// The key-value cache of the caption language model against its full causal pass: positions run in chunks of several
/// lengths after cached ones, and rows reordered (beam search), give the full pass's hidden states.
/// </summary>
public sealed class KeyValueCacheSpecs
{
    private static readonly CaptionLmConfig Config = CaptionLmConfig.Micro with { Layers = 2 };

    [Fact]
    public void Should_match_the_full_causal_pass_when_positions_run_in_chunks()
    {
        using var lm = NewLm();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var inputs = randn(3, 7, Config.Width, generator: Generator(11));   // (B, L, W)
        var full = lm.ForwardEmbeddings(inputs);

        using var cache = lm.NewCache(7);
        var chunks = new[] { 3, 1, 2, 1 }.Aggregate((Start: 0L, Parts: new List<Tensor>()), (acc, t) =>
        {
            acc.Parts.Add(lm.ForwardEmbeddings(inputs.narrow(1, acc.Start, t), cache));
            return (acc.Start + t, acc.Parts);
        });

        Assert.Equal(7, cache.Length);
        AssertClose(full, cat(chunks.Parts, 1));
    }

    [Fact]
    public void Should_continue_each_row_from_its_parent_when_the_cache_is_reordered()
    {
        using var lm = NewLm();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var prefix = randn(3, 4, Config.Width, generator: Generator(12));   // (3, 4, W)
        var next = randn(4, 1, Config.Width, generator: Generator(13));     // one new position for each of 4 rows
        long[] parents = [2, 0, 2, 1];
        var reordered = prefix.index_select(0, tensor(parents));
        var full = lm.ForwardEmbeddings(cat([reordered, next], 1)).narrow(1, 4, 1);

        using var cache = lm.NewCache(5);
        lm.ForwardEmbeddings(prefix, cache);
        cache.Reorder(tensor(parents));
        var cached = lm.ForwardEmbeddings(next, cache);

        Assert.Equal(4, cache.Rows);
        AssertClose(full, cached);
    }

    [Fact]
    public void Should_own_its_buffers_until_disposed_when_scopes_end()
    {
        using var lm = NewLm();
        using var _ = no_grad();
        using var inputs = randn(2, 3, Config.Width, generator: Generator(14));
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var cache = lm.NewCache(4);
        using (NewDisposeScope())
        {
            lm.ForwardEmbeddings(inputs, cache);
            Assert.Throws<InvalidOperationException>(() => lm.ForwardEmbeddings(inputs, cache));   // 3 + 3 > 4 positions
        }

        Assert.Equal(before + (2 * Config.Layers), DisposeScopeManager.Statistics.ThreadTotalLiveCount);   // keys and values per layer
        cache.Dispose();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Throws<ObjectDisposedException>(() => cache.Reorder(tensor(new long[] { 0 })));
    }

    private static CaptionLm NewLm()
    {
        var lm = new CaptionLm(Config);
        lm.eval();
        return lm;
    }

    private static torch.Generator Generator(long seed) => new((ulong)seed);

    private static void AssertClose(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        var worst = (expected - actual).abs().max().item<float>();
        Assert.True(worst <= 1e-5f, $"hidden states differ by {worst}");
    }
}
