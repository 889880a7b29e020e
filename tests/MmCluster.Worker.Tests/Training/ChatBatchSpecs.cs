using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Training;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Training;

public sealed class ChatBatchSpecs
{
    private static readonly Conversation Asked = new(
    [
        new ConversationTurn(ConversationRole.User, "What is the item in the image?", "category"), new ConversationTurn(ConversationRole.Assistant, "a bag"),
        new ConversationTurn(ConversationRole.User, "Is this a bag?", "yes-no"), new ConversationTurn(ConversationRole.Assistant, "yes"),
    ]);

    private static CaptionedImage Row(string key, Conversation? conversation) =>
        new(key, "a photo of a bag", GrayPng.Encode(new byte[28 * 28], 28, 28), 8, conversation);

    [Fact]
    public void Should_say_what_each_chat_source_says_for_a_row()
    {
        var describe = BatchBuilder.ConversationOf(Row("k", Asked), ChatSource.Captions);
        var whole = BatchBuilder.ConversationOf(Row("k", Asked), ChatSource.Conversations);
        var fallback = BatchBuilder.ConversationOf(Row("k", null), ChatSource.Conversations);
        var both = BatchBuilder.ConversationOf(Row("k", Asked), ChatSource.ConversationsAndCaptions);
        var one = Enumerable.Range(0, 40).Select(i => BatchBuilder.ConversationOf(Row($"row-{i}", Asked), ChatSource.OneExchange)).ToList();

        Assert.Equal([(ConversationTemplate.DescribeInstruction, "a photo of a bag", null)], describe.Exchanges);
        Assert.Equal(Asked, whole);
        Assert.Equal(describe, fallback);
        Assert.Equal([.. Asked.Exchanges, (ConversationTemplate.DescribeInstruction, "a photo of a bag", null)], both.Exchanges);
        Assert.All(one, c => Assert.Single(c.Exchanges));
        Assert.Equal(2, one.Select(c => c.Exchanges[0].Question).Distinct().Count());                 // both exchanges get picked
        Assert.Equal(one[7], BatchBuilder.ConversationOf(Row("row-7", Asked), ChatSource.OneExchange));   // always the same for a row
    }

    [Fact]
    public void Should_build_conversation_rows_with_targets_instructions_and_outcomes_that_the_lm_step_trains_on()
    {
        var template = new ConversationTemplate(96);
        var builder = new BatchBuilder(ImageDecoder.FashionMnist, new CaptionTokenizer(96), template, ChatSource.OneExchange, new CaptionTokenizer(16));

        var batch = builder.Build([Row("a", Asked), Row("b", null)]);

        Assert.NotNull(batch.Targets);
        Assert.Equal(template.ImagePosition, batch.ImagePosition);
        Assert.Equal(2, batch.Outcomes[(int)ConversationOutcome.Whole]);
        Assert.True(batch.ContextLength < 96);                                     // cut to the longest row
        Assert.Equal(16, batch.InstructionLength);
        var question = CaptionTokenizer.DecodeText(batch.Instructions!.Take(16).TakeWhile(id => id != CaptionTokenizer.EndOfText));
        Assert.Contains(question.Trim(), Asked.Exchanges.Select(e => e.Question));
        Assert.StartsWith(" ", question);                                          // as the template writes a question
        var (inputs, labels) = LmTrainStep.TeacherForcing(batch, CaptionTokenizer.EndOfText);
        Assert.Equal(batch.Tokens, inputs.data<long>().ToArray());
        Assert.Equal(batch.Targets, labels.data<long>().ToArray());
        inputs.Dispose();
        labels.Dispose();
    }

    [Fact]
    public void Should_compact_targets_and_instructions_keeping_ignored_labels()
    {
        var template = new ConversationTemplate(96);
        var batch = new BatchBuilder(ImageDecoder.FashionMnist, new CaptionTokenizer(96), template, ChatSource.Conversations, new CaptionTokenizer(16))
            .Build([Row("a", Asked)]);
        var vocabulary = new CaptionVocabulary(batch.Tokens.Concat(batch.Targets!.Where(t => t >= 0)).Concat(batch.Instructions!));

        var compact = vocabulary.Compact(batch);

        Assert.Equal(batch.Targets!.Select(t => t < 0 ? t : Array.IndexOf(vocabulary.Ids, t)), compact.Targets!);
        Assert.Equal(batch.Instructions!.Select(t => (long)Array.IndexOf(vocabulary.Ids, t)), compact.Instructions!);
        Assert.Contains(CaptionTargets.IgnoreIndex, compact.Targets!);
    }
}
