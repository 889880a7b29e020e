using MmCluster.Shared.Manifest;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Evaluation;

public sealed class ChatEvaluatorSpecs
{
    [Theory]
    [InlineData("A sneaker.", "sneaker", true)]
    [InlineData("  the  Ankle-boot ", "ankle boot", true)]
    [InlineData("Yes!", "yes", true)]
    [InlineData("a sneaker and a bag", "a sneaker", false)]
    [InlineData("no", "yes", false)]
    public void Should_match_answers_after_vqa_normalization(string answer, string expected, bool right)
    {
        Assert.Equal(right, ChatEvaluator.Matches(answer, expected));
    }

    [Fact]
    public void Should_ask_every_exchange_batching_prompts_of_equal_length_and_count_answers_by_kind_and_instruction_pairs()
    {
        var template = new ConversationTemplate(64);
        Conversation?[] conversations =
        [
            new Conversation(
            [
                new ConversationTurn(ConversationRole.User, "What is the item in the image?", "category"), new ConversationTurn(ConversationRole.Assistant, "a sneaker"),
                new ConversationTurn(ConversationRole.User, "Is it a bag?", "yes-no"), new ConversationTurn(ConversationRole.Assistant, "no"),
            ]),
            null,
            Conversation.Single("Is it a bag?", "yes", "yes-no"),
        ];
        var questions = ChatEvaluator.Questions(conversations);
        var calls = new List<(int[] Images, int Length)>();

        var answers = ChatEvaluator.Ask(questions, template, (images, prompts, asked) =>
        {
            Assert.All(prompts, p => Assert.Equal(prompts[0].Length, p.Length));
            Assert.Equal([.. prompts.Select(p => CaptionTokenizer.DecodeText(p)["A chat about an image. USER: ".Length..].Replace(" ASSISTANT:", ""))], asked);
            calls.Add((images, prompts[0].Length));
            // A model that always says "no" and names a sneaker.
            return [.. prompts.Select(p => CaptionTokenizer.DecodeText(p).Contains("bag", StringComparison.Ordinal) ? "no" : "Sneaker.")];
        });

        Assert.Equal(3, questions.Count);
        Assert.Equal(2, calls.Count);                            // two prompt lengths
        Assert.Equal([0, 2], calls.Single(c => c.Images.Length == 2).Images);
        Assert.Equal([true, true, false], answers.Select(a => a.Right));
        var metrics = ChatEvaluator.Metrics(ChatEvaluator.Counts(answers));
        Assert.Equal(2.0 / 3, metrics["answer_accuracy"], 6);
        Assert.Equal(1.0, metrics["answer_accuracy.category"]);
        Assert.Equal(0.5, metrics["answer_accuracy.yes-no"]);
        Assert.Equal(1.0, metrics["instruction_read"]);          // image 0: "a sneaker" and "no" both right
        Assert.False(metrics.ContainsKey("answer_accuracy.choice"));
    }

    [Fact]
    public void Should_list_the_most_frequent_wrong_answers_first_grouped_by_question_normalized_answer_and_expected()
    {
        ChatAnswer Answer(string question, string expected, string answer) =>
            new(new ChatQuestion(0, question, expected, "category"), answer, ChatEvaluator.Matches(answer, expected));
        ChatAnswer[] answers =
        [
            Answer("Tell me what this is.", "a shirt", "a t-shirt"),
            Answer("Tell me what this is.", "a shirt", "T-shirt."),
            Answer("Tell me what this is.", "a shirt", "a shirt"),
            Answer("Is this a bag?", "no", "yes"),
        ];

        var errors = ChatEvaluator.CommonErrors(answers, top: 5);

        Assert.Equal(["Tell me what this is. -> t shirt (expected shirt) x2", "Is this a bag? -> yes (expected no) x1"], errors);
        Assert.Single(ChatEvaluator.CommonErrors(answers, top: 1));
    }
}
