using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// Caption generation from images with a <see cref="Blip2Stage2Model"/>, as blip2_opt.py's generate(): the projected
/// queries are the prompt, decoding starts at BOS (&lt;|endoftext|&gt;) and ends at the next &lt;|endoftext|&gt; or after
/// <c>maxTokens</c>. Greedy decoding runs a whole batch at once; beam search keeps <c>beams</c> hypotheses per image,
/// finishes when <c>beams</c> hypotheses have ended, and ranks them by log-probability / length^lengthPenalty.
/// The returned ids exclude BOS and the final EOT. Each step re-runs the (short) sequence: no key-value cache.
/// </summary>
public static class CaptionGenerator
{
    /// <param name="images">(B, C, H, W).</param>
    public static long[][] Greedy(Blip2Stage2Model model, Tensor images, int maxTokens)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var eot = model.LanguageModel.Config.EndOfText;
        var b = images.shape[0];
        maxTokens = Limit(model, maxTokens);
        var prefix = model.Prefix(images);
        var inputs = full([b, 1], eot, ScalarType.Int64);
        var outputs = Enumerable.Range(0, (int)b).Select(_ => new List<long>()).ToArray();
        var done = new bool[b];
        for (var step = 0; step < maxTokens && !done.All(d => d); step++)
        {
            using var logits = LastLogits(model, prefix, inputs);                   // (B, V)
            var next = logits.argmax(1).data<long>().ToArray();
            for (var i = 0; i < b; i++)
            {
                if (!done[i])
                {
                    done[i] = next[i] == eot;
                    if (!done[i])
                    {
                        outputs[i].Add(next[i]);
                    }
                }
            }
            using var column = tensor(next, [b, 1]);
            inputs = cat([inputs, column], 1);
        }
        return [.. outputs.Select(o => o.ToArray())];
    }

    /// <param name="image">(1, C, H, W) or (C, H, W).</param>
    public static long[] Beam(Blip2Stage2Model model, Tensor image, int beams, int maxTokens, double lengthPenalty = 1.0)
    {
        if (beams < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(beams), beams, "beam search needs at least one beam");
        }
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var eot = model.LanguageModel.Config.EndOfText;
        maxTokens = Limit(model, maxTokens);
        var single = image.dim() == 3 ? image.unsqueeze(0) : image;
        var prefixOne = model.Prefix(single);                                       // (1, Q, W)
        var live = new List<(long[] Tokens, double Score)> { ([], 0.0) };
        var finished = new List<(long[] Tokens, double Score)>();
        for (var step = 0; step < maxTokens && live.Count > 0 && finished.Count < beams; step++)
        {
            var k = live.Count;
            using var prefix = prefixOne.expand(k, -1, -1);
            var rows = live.SelectMany(h => (long[])[eot, .. h.Tokens]).ToArray();
            using var inputs = tensor(rows, [k, step + 1]);
            using var logits = LastLogits(model, prefix, inputs);
            using var logProbs = logits.log_softmax(1);                              // (k, V)
            using var scores = logProbs + tensor(live.Select(h => h.Score).ToArray(), ScalarType.Float64).to_type(logProbs.dtype).unsqueeze(1);
            var vocab = scores.shape[1];
            var (top, index) = scores.reshape(-1).topk((int)Math.Min(2 * beams, k * vocab));
            var topScores = top.to_type(ScalarType.Float64).data<double>().ToArray();
            var topIndex = index.data<long>().ToArray();
            var next = new List<(long[] Tokens, double Score)>();
            for (var c = 0; c < topIndex.Length && next.Count < beams; c++)
            {
                var parent = live[(int)(topIndex[c] / vocab)];
                var token = topIndex[c] % vocab;
                if (token == eot)
                {
                    finished.Add((parent.Tokens, Normalize(topScores[c], parent.Tokens.Length + 1, lengthPenalty)));
                }
                else
                {
                    next.Add(([.. parent.Tokens, token], topScores[c]));
                }
            }
            live = next;
        }
        if (finished.Count < beams)
        {
            finished.AddRange(live.Select(h => (h.Tokens, Normalize(h.Score, h.Tokens.Length, lengthPenalty))));
        }
        return finished.OrderByDescending(h => h.Score).First().Tokens;
    }

    private static double Normalize(double logProbability, int length, double lengthPenalty) =>
        logProbability / Math.Pow(Math.Max(1, length), lengthPenalty);

    private static int Limit(Blip2Stage2Model model, int maxTokens) =>
        Math.Clamp(maxTokens, 1, model.LanguageModel.Config.ContextLength);

    /// <summary>(B, P, W) prefix, (B, t) inputs -> (B, V) logits at the last position.</summary>
    private static Tensor LastLogits(Blip2Stage2Model model, Tensor prefix, Tensor inputs)
    {
        using var hidden = model.Decode(prefix, inputs);
        using var last = hidden.select(1, hidden.shape[1] - 1);
        return model.LanguageModel.Logits(last);
    }
}
