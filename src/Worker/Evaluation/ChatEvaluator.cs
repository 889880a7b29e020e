using System.Globalization;
using System.Text;
using MmCluster.Shared.Manifest;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Evaluation;

/// <summary>
/// Answer accuracy of a chat model on held-out questions: every exchange of each test image's conversation is asked on
/// its own (the first question of a fresh conversation: <see cref="ConversationTemplate.Prompt"/>), answered greedily,
/// and scored by normalized exact match (VQA's normalization: lower case, punctuation and the articles a, an, the
/// dropped, spaces collapsed), overall and per question kind. <see cref="Counts"/> also says whether the instruction is
/// read: of the pairs of questions about one image whose expected answers differ, how many got both answers right.
/// </summary>
public static class ChatEvaluator
{
    /// <summary>The question kinds reported separately (the Fashion-MNIST instruction importer's); others count as <c>other</c>.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["category", "yes-no", "choice", "other"];

    private static readonly HashSet<string> Articles = ["a", "an", "the"];

    public static string Normalize(string answer)
    {
        var text = new StringBuilder(answer.Length);
        foreach (var c in answer.ToLowerInvariant())
        {
            text.Append(char.IsLetterOrDigit(c) ? c : ' ');
        }
        return string.Join(' ', text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !Articles.Contains(w)));
    }

    public static bool Matches(string answer, string expected) => Normalize(answer) == Normalize(expected);

    /// <summary>Every exchange of each image's conversation as a question (images without one ask nothing).</summary>
    public static IReadOnlyList<ChatQuestion> Questions(IReadOnlyList<Conversation?> conversations) =>
        [.. conversations.SelectMany((c, i) => c is null ? [] : c.Exchanges.Select(e => new ChatQuestion(i, e.Question, e.Answer, e.Kind)))];

    /// <summary>
    /// Asks every question: prompts of equal length go together in batches of at most <paramref name="batchSize"/>;
    /// <paramref name="generate"/> gets the images' indices, the prompts' GPT-2 ids and the questions' text (for a model
    /// that reads the instruction beside the image) and returns the answers' text.
    /// </summary>
    public static IReadOnlyList<ChatAnswer> Ask(
        IReadOnlyList<ChatQuestion> questions, ConversationTemplate template, Func<int[], long[][], string[], IReadOnlyList<string>> generate, int batchSize = 256)
    {
        var answers = new ChatAnswer?[questions.Count];
        var prompts = questions.Select(q => template.Prompt(q.Question)).ToArray();
        foreach (var group in Enumerable.Range(0, questions.Count).GroupBy(i => prompts[i].Length))
        {
            foreach (var chunk in group.Chunk(batchSize))
            {
                var texts = generate([.. chunk.Select(i => questions[i].Image)], [.. chunk.Select(i => prompts[i])], [.. chunk.Select(i => questions[i].Question)]);
                for (var k = 0; k < chunk.Length; k++)
                {
                    var q = questions[chunk[k]];
                    answers[chunk[k]] = new ChatAnswer(q, texts[k], Matches(texts[k], q.Expected));
                }
            }
        }
        return [.. answers.Select(a => a!)];
    }

    /// <summary>
    /// The most frequent wrong answers, as "question -> answer (expected E) xN", most frequent first: which phrasings and
    /// confusions a model gets wrong, for the worker's log.
    /// </summary>
    public static IReadOnlyList<string> CommonErrors(IReadOnlyList<ChatAnswer> answers, int top) =>
        [.. answers.Where(a => !a.Right)
            .GroupBy(a => (a.Question.Question, Answer: Normalize(a.Answer), Expected: Normalize(a.Question.Expected)))
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Question, StringComparer.Ordinal)
            .Take(top)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key.Question} -> {g.Key.Answer} (expected {g.Key.Expected}) x{g.Count()}"))];

    /// <summary>
    /// Counts to sum over ranks, in a fixed layout: asked, right, instruction pairs, pairs with both right, then per
    /// <see cref="Kinds"/> asked and right.
    /// </summary>
    public static float[] Counts(IReadOnlyList<ChatAnswer> answers)
    {
        var counts = new float[4 + 2 * Kinds.Count];
        counts[0] = answers.Count;
        counts[1] = answers.Count(a => a.Right);
        foreach (var image in answers.GroupBy(a => a.Question.Image))
        {
            var list = image.ToArray();
            for (var i = 0; i < list.Length; i++)
            {
                for (var j = i + 1; j < list.Length; j++)
                {
                    if (Normalize(list[i].Question.Expected) != Normalize(list[j].Question.Expected))
                    {
                        counts[2]++;
                        counts[3] += list[i].Right && list[j].Right ? 1 : 0;
                    }
                }
            }
        }
        foreach (var a in answers)
        {
            var k = KindIndex(a.Question.Kind);
            counts[4 + 2 * k]++;
            counts[5 + 2 * k] += a.Right ? 1 : 0;
        }
        return counts;
    }

    /// <summary>Metrics from counts summed over ranks: <c>answer_accuracy</c>, <c>answer_accuracy.KIND</c>, <c>instruction_read</c>, <c>questions</c>.</summary>
    public static Dictionary<string, double> Metrics(float[] sums)
    {
        var metrics = new Dictionary<string, double>();
        if (sums[0] == 0)
        {
            return metrics;
        }
        metrics["answer_accuracy"] = sums[1] / sums[0];
        metrics["questions"] = sums[0];
        if (sums[2] > 0)
        {
            metrics["instruction_read"] = sums[3] / sums[2];
        }
        for (var k = 0; k < Kinds.Count; k++)
        {
            if (sums[4 + 2 * k] > 0)
            {
                metrics[string.Create(CultureInfo.InvariantCulture, $"answer_accuracy.{Kinds[k]}")] = sums[5 + 2 * k] / sums[4 + 2 * k];
            }
        }
        return metrics;
    }

    private static int KindIndex(string? kind)
    {
        for (var k = 0; k < Kinds.Count - 1; k++)
        {
            if (string.Equals(Kinds[k], kind, StringComparison.Ordinal))
            {
                return k;
            }
        }
        return Kinds.Count - 1;
    }
}
