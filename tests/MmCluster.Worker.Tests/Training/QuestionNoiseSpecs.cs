using MmCluster.Shared.Manifest;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

/// <summary>
/// Token noise on the questions of training conversations: only question tokens change, to words other questions of the
/// batch use; answers, template words and the loss mask stay; the same rows give the same noise.
/// </summary>
public sealed class QuestionNoiseSpecs
{
    private static readonly Conversation TwoExchanges = Conversation.Parse("""
        [{"from": "human", "value": "<image>\nWhat is the item in the image?"}, {"from": "gpt", "value": "a sneaker"},
         {"from": "human", "value": "Is this something you wear on your feet?"}, {"from": "gpt", "value": "yes"}]
        """);

    private static readonly Conversation Choice = Conversation.Parse("""
        [{"from": "human", "value": "<image>\nWhich category does this belong to: bag, coat or dress?"}, {"from": "gpt", "value": "bag"}]
        """);

    [Fact]
    public void Should_mark_exactly_the_question_words_of_every_exchange_when_a_conversation_is_encoded()
    {
        var tokens = new ConversationTemplate(64).Encode(TwoExchanges);

        var runs = Runs(tokens.QuestionPositions).Select(run => CaptionTokenizer.DecodeText(run.Select(t => tokens.Inputs[t]))).ToArray();

        Assert.Equal([" What is the item in the image?", " Is this something you wear on your feet?"], runs);
        Assert.All(tokens.QuestionPositions, t => Assert.Equal(-100, tokens.Labels[t]));
    }

    [Fact]
    public void Should_change_only_question_tokens_and_only_to_question_words_of_the_batch()
    {
        var template = new ConversationTemplate(64);
        ConversationTokens[] rows = [.. Enumerable.Range(0, 40).Select(i => template.Encode(i % 2 == 0 ? TwoExchanges : Choice))];
        var keys = Enumerable.Range(0, 40).Select(i => $"row-{i}").ToArray();

        var noisy = new QuestionNoise(0.3).Apply(rows, keys);

        var pool = rows.SelectMany(r => r.QuestionPositions.Select(t => r.Inputs[t])).ToHashSet();
        var changed = 0;
        var questionTokens = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Equal(rows[i].Labels, noisy[i].Labels);
            var questions = rows[i].QuestionPositions.ToHashSet();
            questionTokens += questions.Count;
            for (var t = 0; t < rows[i].Inputs.Length; t++)
            {
                if (!questions.Contains(t))
                {
                    Assert.Equal(rows[i].Inputs[t], noisy[i].Inputs[t]);
                }
                else if (noisy[i].Inputs[t] != rows[i].Inputs[t])
                {
                    changed++;
                    Assert.Contains(noisy[i].Inputs[t], pool);
                }
            }
        }
        // About 30% drawn, less the draws that happen to pick the same word.
        Assert.InRange(changed / (double)questionTokens, 0.15, 0.35);
    }

    [Fact]
    public void Should_give_the_same_noise_when_the_same_rows_are_built_again_and_other_noise_for_other_rows()
    {
        var template = new ConversationTemplate(64);
        ConversationTokens[] rows = [.. Enumerable.Range(0, 16).Select(_ => template.Encode(TwoExchanges))];
        var noise = new QuestionNoise(0.5);

        var first = noise.Apply(rows, [.. Enumerable.Range(0, 16).Select(i => $"k{i}")]);
        var again = noise.Apply(rows, [.. Enumerable.Range(0, 16).Select(i => $"k{i}")]);
        var other = noise.Apply(rows, [.. Enumerable.Range(16, 16).Select(i => $"k{i}")]);

        Assert.Equal(first.SelectMany(r => r.Inputs), again.SelectMany(r => r.Inputs));
        Assert.NotEqual(first.SelectMany(r => r.Inputs), other.SelectMany(r => r.Inputs));
    }

    [Fact]
    public void Should_leave_the_rows_as_they_were_when_the_probability_is_zero()
    {
        var rows = new[] { new ConversationTemplate(64).Encode(TwoExchanges) };

        var same = new QuestionNoise(0).Apply(rows, ["a"]);

        Assert.Same(rows[0], same[0]);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Should_refuse_a_probability_outside_zero_to_one(double probability)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new QuestionNoise(probability));
    }

    private static IEnumerable<int[]> Runs(IReadOnlyList<int> positions)
    {
        var run = new List<int>();
        foreach (var t in positions)
        {
            if (run.Count > 0 && t != run[^1] + 1)
            {
                yield return [.. run];
                run.Clear();
            }
            run.Add(t);
        }
        if (run.Count > 0)
        {
            yield return [.. run];
        }
    }

    [Fact]
    public void Should_replace_question_tokens_by_the_unknown_token_only_when_a_replacement_is_given()
    {
        var template = new ConversationTemplate(64);
        ConversationTokens[] rows = [.. Enumerable.Range(0, 40).Select(i => template.Encode(i % 2 == 0 ? TwoExchanges : Choice))];
        var keys = Enumerable.Range(0, 40).Select(i => $"row-{i}").ToArray();

        var noisy = new QuestionNoise(0.3, CaptionVocabulary.UnknownGpt2).Apply(rows, keys);

        var changed = rows.Zip(noisy).Sum(pair => pair.First.Inputs.Zip(pair.Second.Inputs).Count(t => t.First != t.Second));
        Assert.InRange(changed, 1, int.MaxValue);
        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Equal(rows[i].Labels, noisy[i].Labels);
            var questions = rows[i].QuestionPositions.ToHashSet();
            for (var t = 0; t < rows[i].Inputs.Length; t++)
            {
                var expected = noisy[i].Inputs[t] == rows[i].Inputs[t] || (questions.Contains(t) && noisy[i].Inputs[t] == CaptionVocabulary.UnknownGpt2);
                Assert.True(expected, $"row {i} position {t}: {rows[i].Inputs[t]} became {noisy[i].Inputs[t]}");
            }
        }
    }

    [Fact]
    public void Should_replace_only_question_tokens_of_instruction_rows_and_only_with_the_unknown_token()
    {
        var tokenizer = new CaptionTokenizer(16);
        var questions = Enumerable.Range(0, 30).Select(i => i % 2 == 0 ? "What is the item in the image?" : "Is this worn on the feet?").ToArray();
        var rows = BatchBuilder.InstructionRows(questions, tokenizer);
        var keys = Enumerable.Range(0, 30).Select(i => $"row-{i}").ToArray();

        var noisy = new QuestionNoise(0.3, CaptionVocabulary.UnknownGpt2).ApplyToInstructions(rows, 16, keys);
        var words = new QuestionNoise(0.3).ApplyToInstructions(rows, 16, keys);

        Assert.Same(rows, words);   // without a replacement the instructions stay as they were
        var changed = 0;
        for (var start = 0; start < rows.Length; start += 16)
        {
            var end = Array.IndexOf(rows, CaptionTokenizer.EndOfText, start);
            for (var t = start; t < start + 16; t++)
            {
                if (noisy[t] != rows[t])
                {
                    changed++;
                    Assert.True(t < end, $"position {t - start} of row {start / 16} is past the question");
                    Assert.Equal(CaptionVocabulary.UnknownGpt2, noisy[t]);
                }
            }
        }
        Assert.InRange(changed, 1, int.MaxValue);
        Assert.Equal(noisy, new QuestionNoise(0.3, CaptionVocabulary.UnknownGpt2).ApplyToInstructions(rows, 16, keys));
    }
}
