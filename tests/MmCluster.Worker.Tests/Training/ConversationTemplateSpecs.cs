using MmCluster.Shared.Manifest;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

public sealed class ConversationTemplateSpecs
{
    private static readonly Conversation TwoExchanges = Conversation.Parse("""
        [{"from": "human", "value": "<image>\nWhat is the item in the image?"}, {"from": "gpt", "value": "a sneaker"},
         {"from": "human", "value": "Is this something you wear on your feet?"}, {"from": "gpt", "value": "yes"}]
        """);

    [Fact]
    public void Should_supervise_only_the_answers_and_their_end_of_text_in_a_real_tokenized_conversation()
    {
        var template = new ConversationTemplate(64);

        var tokens = template.Encode(TwoExchanges);

        Assert.Equal(ConversationOutcome.Whole, tokens.Outcome);
        var supervised = Enumerable.Range(0, 64).Where(t => tokens.Labels[t] != -100).ToArray();
        // Labels are next-token targets: position t predicts the token at t + 1 of the sequence.
        var targets = supervised.Select(t => tokens.Labels[t]).ToArray();
        Assert.Equal(" a sneaker", CaptionTokenizer.DecodeText(targets.TakeWhile(id => id != CaptionTokenizer.EndOfText)));
        Assert.Equal(2, targets.Count(id => id == CaptionTokenizer.EndOfText));
        Assert.Equal(" yes", CaptionTokenizer.DecodeText(targets.SkipWhile(id => id != CaptionTokenizer.EndOfText).Skip(1)));
        Assert.Equal(tokens.SupervisedTokens, supervised.Length);
        // Every target but the last end-of-text is the next input (teacher forcing).
        Assert.All(supervised[..^1], t => Assert.Equal(tokens.Labels[t], tokens.Inputs[t + 1]));

        // Everything before the first answer is instruction: BOS, system, USER:, the question and ASSISTANT:.
        var firstAnswer = supervised[0] + 1;
        var instruction = CaptionTokenizer.DecodeText(tokens.Inputs.Take(firstAnswer));
        Assert.Equal("A chat about an image. USER: What is the item in the image? ASSISTANT:", instruction);
        // The second exchange's question is not supervised either.
        var firstEnd = supervised.First(t => tokens.Labels[t] == CaptionTokenizer.EndOfText);
        var secondAnswer = supervised.First(t => t > firstEnd);
        Assert.Equal("USER: Is this something you wear on your feet? ASSISTANT:", CaptionTokenizer.DecodeText(tokens.Inputs.Skip(firstEnd + 2).Take(secondAnswer - firstEnd - 1)));
        Assert.All(Enumerable.Range(firstEnd + 1, secondAnswer - firstEnd - 1), t => Assert.Equal(-100, tokens.Labels[t]));
    }

    [Fact]
    public void Should_put_the_image_after_the_system_line_at_the_same_position_for_every_conversation()
    {
        var template = new ConversationTemplate(64);

        var a = template.Encode(TwoExchanges);
        var b = template.EncodeCaption("a photo of a bag");

        Assert.Equal(a.ImagePosition, b.ImagePosition);
        Assert.Equal("A chat about an image. USER:", CaptionTokenizer.DecodeText(a.Inputs.Take(a.ImagePosition)));
        Assert.Equal(CaptionTokenizer.EndOfText, a.Inputs[0]);
        var last = Array.FindLastIndex(b.Labels, label => label != -100);
        Assert.Equal(" Describe the image briefly. ASSISTANT: a photo of a bag", CaptionTokenizer.DecodeText(b.Inputs.Take(last + 1).Skip(b.ImagePosition)));
        Assert.Equal(template.Prompt("What is the item in the image?"), a.Inputs.Take(template.Prompt("What is the item in the image?").Length));
    }

    [Fact]
    public void Should_leave_out_whole_exchanges_that_do_not_fit_and_train_nothing_when_the_first_does_not()
    {
        var full = new ConversationTemplate(64).Encode(TwoExchanges);
        var firstEnd = Array.IndexOf(full.Labels, CaptionTokenizer.EndOfText);

        var cut = new ConversationTemplate(firstEnd + 3).Encode(TwoExchanges);
        var none = new ConversationTemplate(firstEnd).Encode(TwoExchanges);

        Assert.Equal(ConversationOutcome.Truncated, cut.Outcome);
        Assert.Equal(full.Labels.Take(firstEnd + 1), cut.Labels.Take(firstEnd + 1));
        Assert.All(cut.Labels.Skip(firstEnd + 1), label => Assert.Equal(-100, label));
        Assert.Equal(ConversationOutcome.TooLong, none.Outcome);
        Assert.False(none.Trains);
        Assert.All(none.Labels, label => Assert.Equal(-100, label));
    }

    [Fact]
    public void Should_give_no_loss_to_a_conversation_whose_answer_merges_with_its_instruction_in_the_tokenizer()
    {
        // A tokenizer that joins ": " with the next letter, as SentencePiece may: the instruction's tokens are then not a
        // prefix of the exchange's, and the mask cannot be placed.
        static long[] Merging(string text) => [.. text.Replace(": a", "\u0001", StringComparison.Ordinal).Select(c => (long)c)];
        var template = new ConversationTemplate(200, ConversationTemplate.DefaultSystem, Merging);

        var tokens = template.Encode(Conversation.Single("What is it?", "a bag"));
        var fine = template.Encode(Conversation.Single("What is it?", "bag"));

        Assert.Equal(ConversationOutcome.Unaligned, tokens.Outcome);
        Assert.Equal(0, tokens.SupervisedTokens);
        Assert.All(tokens.Labels, label => Assert.Equal(-100, label));
        Assert.Equal(ConversationOutcome.Whole, fine.Outcome);
        Assert.Equal(" bag".Length + 1, fine.SupervisedTokens);
    }

    [Fact]
    public void Should_pack_a_batch_to_its_longest_row_with_nothing_supervised_cut_off()
    {
        var template = new ConversationTemplate(96);
        ConversationTokens[] rows = [template.Encode(TwoExchanges), template.EncodeCaption("a bag")];

        var (inputs, targets, context) = BatchBuilder.Pack(rows);

        Assert.Equal(rows[0].Length, context);
        Assert.True(context < 96);
        Assert.Equal(Array.FindLastIndex(rows[0].Labels, l => l != -100) + 1, context);
        Assert.Equal(rows[1].Labels.Take(context), targets.Skip(context));
        Assert.Equal(2 * context, inputs.Length);
        Assert.Equal(rows.Sum(r => r.SupervisedTokens), targets.Count(t => t != -100));
    }

    [Fact]
    public void Should_render_the_template_as_llava_writes_it()
    {
        var text = new ConversationTemplate(64).Render(TwoExchanges);

        Assert.Equal("A chat about an image. USER: <image> What is the item in the image? ASSISTANT: a sneaker</s>USER: Is this something you wear on your feet? ASSISTANT: yes</s>", text);
    }

    [Fact]
    public void Should_read_the_answer_up_to_the_end_of_text()
    {
        var ids = CaptionTokenizer.EncodeText(" a sandal").Select(id => (long)id).Append(CaptionTokenizer.EndOfText).Append(11L);

        Assert.Equal("a sandal", ConversationTemplate.Answer(ids));
    }
}
