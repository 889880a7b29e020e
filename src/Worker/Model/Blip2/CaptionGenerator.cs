using MmCluster.Worker.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// Caption generation from images with a <see cref="Blip2Stage2Model"/>, as blip2_opt.py's generate(): the projected
/// queries are the prompt, decoding starts at BOS (&lt;|endoftext|&gt;) and ends at the next &lt;|endoftext|&gt; or after
/// <c>maxTokens</c>. Greedy decoding runs a whole batch at once; beam search keeps <c>beams</c> hypotheses per image,
/// finishes when <c>beams</c> hypotheses have ended, and ranks them by log-probability / length^lengthPenalty.
/// The returned ids exclude BOS and the final EOT. With <c>useCache</c> (the default) the prefix runs once and each step
/// runs one position per row against a key-value cache (<see cref="KeyValueCache"/>), beam search reordering it by the
/// surviving hypotheses' parents; without it each step re-runs the whole sequence. Both give the same captions.
/// <c>stepLogits</c>, when given, sees each step's (rows, V) logits (beam search: one row per live hypothesis).
/// </summary>
public static class CaptionGenerator
{
    /// <param name="images">(B, C, H, W).</param>
    public static long[][] Greedy(
        Blip2Stage2Model model, Tensor images, int maxTokens, bool useCache = true, Action<int, Tensor>? stepLogits = null)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var eot = model.LanguageModel.Config.EndOfText;
        var b = images.shape[0];
        maxTokens = Limit(model, maxTokens);
        var prefix = model.Prefix(images);
        using var decoder = new PrefixDecoder(model, prefix, maxTokens, useCache);
        var outputs = Enumerable.Range(0, (int)b).Select(_ => new List<long>()).ToArray();
        var done = new bool[b];
        var next = Enumerable.Repeat(eot, (int)b).ToArray();
        for (var step = 0; step < maxTokens && !done.All(d => d); step++)
        {
            using var column = tensor(next, [b, 1], device: prefix.device);
            using var logits = decoder.Next(column);                                 // (B, V)
            stepLogits?.Invoke(step, logits);
            using var argmax = logits.argmax(1);
            using var host = argmax.cpu();
            next = host.data<long>().ToArray();
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
        }
        return [.. outputs.Select(o => o.ToArray())];
    }

    /// <param name="image">(1, C, H, W) or (C, H, W).</param>
    public static long[] Beam(
        Blip2Stage2Model model, Tensor image, int beams, int maxTokens, double lengthPenalty = 1.0, bool useCache = true, Action<int, Tensor>? stepLogits = null) =>
        BeamHypotheses(model, image, beams, maxTokens, lengthPenalty, useCache, stepLogits)[0].Tokens;

    /// <summary>Beam search's final hypotheses, best first: those that ended, then (if fewer than beams ended) the live ones.</summary>
    /// <param name="image">(1, C, H, W) or (C, H, W).</param>
    public static IReadOnlyList<BeamHypothesis> BeamHypotheses(
        Blip2Stage2Model model, Tensor image, int beams, int maxTokens, double lengthPenalty = 1.0, bool useCache = true, Action<int, Tensor>? stepLogits = null)
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
        using var decoder = new PrefixDecoder(model, prefixOne, maxTokens, useCache);
        var live = new List<(long[] Tokens, double Score)> { ([], 0.0) };
        var finished = new List<BeamHypothesis>();
        long[] column = [eot];
        for (var step = 0; step < maxTokens && live.Count > 0 && finished.Count < beams; step++)
        {
            var k = live.Count;
            using var inputs = tensor(column, [k, 1], device: prefixOne.device);
            using var logits = decoder.Next(inputs);                                 // (k, V)
            stepLogits?.Invoke(step, logits);
            using var logProbs = logits.log_softmax(1);
            using var liveScores = tensor(live.Select(h => h.Score).ToArray(), ScalarType.Float64, logProbs.device).to_type(logProbs.dtype).unsqueeze(1);
            using var scores = logProbs.Plus(liveScores);
            var vocab = scores.shape[1];
            using var flat = scores.reshape(-1);
            var (top, index) = flat.topk((int)Math.Min(2 * beams, k * vocab));
            using var __ = top;
            using var ___ = index;
            using var top64 = top.to(ScalarType.Float64, CPU);
            using var hostIndex = index.cpu();
            var topScores = top64.data<double>().ToArray();
            var topIndex = hostIndex.data<long>().ToArray();
            var next = new List<(long[] Tokens, double Score)>();
            var parents = new List<long>();
            for (var c = 0; c < topIndex.Length && next.Count < beams; c++)
            {
                var parent = topIndex[c] / vocab;
                var tokens = live[(int)parent].Tokens;
                var token = topIndex[c] % vocab;
                if (token == eot)
                {
                    finished.Add(new BeamHypothesis(tokens, Normalize(topScores[c], tokens.Length + 1, lengthPenalty), Ended: true));
                }
                else
                {
                    next.Add(([.. tokens, token], topScores[c]));
                    parents.Add(parent);
                }
            }
            live = next;
            column = [.. next.Select(h => h.Tokens[^1])];
            if (live.Count > 0)
            {
                decoder.Reorder([.. parents]);
            }
        }
        if (finished.Count < beams)
        {
            finished.AddRange(live.Select(h => new BeamHypothesis(h.Tokens, Normalize(h.Score, h.Tokens.Length, lengthPenalty), Ended: false)));
        }
        return [.. finished.OrderByDescending(h => h.Score)];
    }

    private static double Normalize(double logProbability, int length, double lengthPenalty) =>
        logProbability / Math.Pow(Math.Max(1, length), lengthPenalty);

    private static int Limit(Blip2Stage2Model model, int maxTokens) =>
        Math.Clamp(maxTokens, 1, model.LanguageModel.Config.ContextLength);
}
