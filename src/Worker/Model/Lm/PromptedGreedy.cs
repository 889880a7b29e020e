using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// Greedy decoding after a prompt of image tokens and text with a <see cref="KeyValueCache"/>: the prompt runs once, then
/// each step runs one token per row at the next text position (its learned position embedding) against the cache. Rows end
/// at <c>endOfText</c> (not returned) or after <c>maxTokens</c> (at most what the context leaves after the prompt's text);
/// a finished row keeps being computed, its output frozen, like <see cref="Blip2.CaptionGenerator.Greedy"/>.
/// </summary>
public static class PromptedGreedy
{
    /// <param name="lm">The language model.</param>
    /// <param name="promptLength">Sequence positions of the prompt (image tokens plus text tokens).</param>
    /// <param name="textTokens">The prompt's text tokens T: the first generated token is fed at text position T.</param>
    /// <param name="prompt">Runs the prompt into the empty cache it is given; returns its (B, L, W) final hidden states.</param>
    public static long[][] Run(CaptionLm lm, long promptLength, long textTokens, int maxTokens, long endOfText, Func<KeyValueCache, Tensor> prompt)
    {
        maxTokens = (int)Math.Clamp(maxTokens, 0, lm.Config.ContextLength - textTokens + 1);
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var cache = lm.NewCache(promptLength + maxTokens);
        var hidden = prompt(cache);                                            // (B, L, W)
        var rows = (int)hidden.shape[0];
        var outputs = Enumerable.Range(0, rows).Select(_ => new List<long>()).ToArray();
        var done = new bool[rows];
        for (var step = 0; step < maxTokens; step++)
        {
            var last = hidden.select(1, hidden.shape[1] - 1);                  // (B, W)
            var next = lm.Logits(last).argmax(1).cpu().data<long>().ToArray();
            for (var i = 0; i < rows; i++)
            {
                done[i] = done[i] || next[i] == endOfText;
                if (!done[i])
                {
                    outputs[i].Add(next[i]);
                }
            }
            if (done.All(d => d) || step == maxTokens - 1)
            {
                break;
            }
            var column = tensor(next, [rows, 1], device: hidden.device);
            var embedded = lm.Embed(column, textTokens + step);
            hidden = lm.ForwardEmbeddings(embedded, cache);                   // (B, 1, W)
        }
        return [.. outputs.Select(o => o.ToArray())];
    }
}
