using MmCluster.Shared.Manifest;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

public sealed class ConversationSpecs
{
    [Fact]
    public void Should_read_llava_json_and_move_the_image_placeholder_to_the_start_of_the_first_question()
    {
        var conversation = Conversation.Parse("""
            [{"from": "human", "value": "What is shown here?\n<image>"}, {"from": "gpt", "value": "a sneaker"},
             {"from": "human", "value": "Do you wear it on your feet?", "kind": "yes-no"}, {"from": "gpt", "value": "yes"}]
            """);

        Assert.Equal("<image>\nWhat is shown here?", conversation.Turns[0].Text);
        Assert.Equal(
            [("What is shown here?", "a sneaker", null), ("Do you wear it on your feet?", "yes", "yes-no")],
            conversation.Exchanges);
    }

    [Fact]
    public void Should_read_the_chat_shape_and_round_trip_through_its_json()
    {
        var conversation = Conversation.Parse("""[{"role": "user", "content": "Which category?", "kind": "category"}, {"role": "assistant", "content": "bag"}]""");

        Assert.Equal(ConversationRole.Assistant, conversation.Turns[1].Role);
        Assert.Equal(conversation, Conversation.Parse(conversation.ToJson()));
        Assert.Contains("\"from\":\"human\"", conversation.ToJson(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("""{"from": "human"}""", "must be a JSON list")]
    [InlineData("""[{"from": "human", "value": "a?"}]""", "in pairs; it has 1 turn")]
    [InlineData("""[{"from": "gpt", "value": "a"}, {"from": "human", "value": "b?"}]""", "turn 0 is spoken by Assistant")]
    [InlineData("""[{"from": "robot", "value": "a"}, {"from": "gpt", "value": "b"}]""", "turn 0: 'from' is 'robot'")]
    [InlineData("""[{"from": "human", "value": 3}, {"from": "gpt", "value": "b"}]""", "turn 0: 'value' must be a string, found number 3")]
    [InlineData("""[{"from": "human", "value": "a?"}, {"from": "gpt", "value": " "}]""", "turn 1 (Assistant) has no text")]
    [InlineData("""[{"from": "human", "value": "<image>"}, {"from": "gpt", "value": "b"}]""", "turn 0 (User) has no text")]
    [InlineData("""[{"from": "human", "value": "a?"}, {"from": "gpt", "value": "b"}, {"from": "human", "value": "<image> c?"}, {"from": "gpt", "value": "d"}]""", "turn 2 has 1 '<image>'")]
    public void Should_name_the_turn_and_field_of_a_malformed_conversation(string json, string expected)
    {
        var error = Assert.Throws<ConversationFormatException>(() => Conversation.Parse(json));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_give_the_words_without_the_placeholder_as_plain_text()
    {
        var text = Conversation.Single("What is it?", "a bag").PlainText();

        Assert.Equal($"What is it?{Environment.NewLine}a bag{Environment.NewLine}", text);
    }
}
