using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// An instruction conversation about a row's image: user and assistant turns, alternating, starting with the user and
/// ending with the assistant (LLaVA's and InternLM-XComposer's fine-tuning shape). The image appears once, as
/// <see cref="ImagePlaceholder"/> in the first user turn; as LLaVA's preprocess_multimodal does, <see cref="Parse"/>
/// moves it to the start of that turn (<c>&lt;image&gt;\n</c> then the question) and adds it when no turn has it.
/// Stored in the manifest's optional <c>conversation</c> column as LLaVA's JSON (<see cref="ToJson"/>):
/// <c>[{"from":"human","value":"&lt;image&gt;\nWhat is it?","kind":"category"},{"from":"gpt","value":"a sneaker"}]</c>.
/// </summary>
public sealed record Conversation
{
    public const string ImagePlaceholder = "<image>";

    // The column is data, never HTML: keep '<image>' and non-ASCII text as they are, readable in pyarrow or DuckDB.
    private static readonly JsonSerializerOptions StoredJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public Conversation(IReadOnlyList<ConversationTurn> turns)
    {
        Turns = Normalize(turns);
    }

    public IReadOnlyList<ConversationTurn> Turns { get; }

    /// <summary>Each user turn with the assistant's answer to it, in order; the first question without the placeholder.</summary>
    public IReadOnlyList<(string Question, string Answer, string? Kind)> Exchanges =>
        [.. Enumerable.Range(0, Turns.Count / 2).Select(i => (StripPlaceholder(Turns[2 * i].Text), Turns[2 * i + 1].Text, Turns[2 * i].Kind))];

    /// <summary>A one-exchange conversation: the question (the placeholder is added) and its answer.</summary>
    public static Conversation Single(string question, string answer, string? kind = null) =>
        new([new ConversationTurn(ConversationRole.User, question, kind), new ConversationTurn(ConversationRole.Assistant, answer)]);

    /// <summary>
    /// Reads LLaVA's <c>conversations</c> list (<c>from</c>: <c>human</c>/<c>gpt</c>, <c>value</c>) or the chat shape
    /// (<c>role</c>: <c>user</c>/<c>assistant</c>, <c>content</c>); an optional <c>kind</c> per turn. Throws
    /// <see cref="ConversationFormatException"/> naming the turn and field that is wrong.
    /// </summary>
    public static Conversation Parse(string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ConversationFormatException($"conversation is not JSON: {e.Message}");
        }
        if (root is not JsonArray array)
        {
            throw new ConversationFormatException($"conversation must be a JSON list of turns, found {Describe(root)}");
        }
        var turns = new List<ConversationTurn>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject turn)
            {
                throw new ConversationFormatException($"turn {i}: expected an object with 'from' and 'value', found {Describe(array[i])}");
            }
            var from = Text(turn, i, "from", "role");
            var role = from.ToLowerInvariant() switch
            {
                "human" or "user" => ConversationRole.User,
                "gpt" or "assistant" => ConversationRole.Assistant,
                _ => throw new ConversationFormatException($"turn {i}: 'from' is '{from}'; expected human/user or gpt/assistant"),
            };
            var kind = turn["kind"] is JsonValue k && k.TryGetValue<string>(out var s) ? s : null;
            turns.Add(new ConversationTurn(role, Text(turn, i, "value", "content"), kind));
        }
        return new Conversation(turns);
    }

    /// <summary>LLaVA's JSON for the turns (with <c>kind</c> where a turn has one).</summary>
    public string ToJson()
    {
        var array = new JsonArray();
        foreach (var turn in Turns)
        {
            var node = new JsonObject
            {
                ["from"] = turn.Role == ConversationRole.User ? "human" : "gpt",
                ["value"] = turn.Text,
            };
            if (turn.Kind is not null)
            {
                node["kind"] = turn.Kind;
            }
            array.Add(node);
        }
        return array.ToJsonString(StoredJson);
    }

    /// <summary>The conversation's words without the placeholder, one turn per line (for vocabularies and text-only training).</summary>
    public string PlainText()
    {
        var text = new StringBuilder();
        foreach (var turn in Turns)
        {
            text.AppendLine(StripPlaceholder(turn.Text));
        }
        return text.ToString();
    }

    public bool Equals(Conversation? other) => other is not null && Turns.SequenceEqual(other.Turns);

    public override int GetHashCode() => Turns.Aggregate(0, (h, t) => HashCode.Combine(h, t));

    private static string StripPlaceholder(string text) => text.Replace(ImagePlaceholder, "", StringComparison.Ordinal).Trim();

    private static List<ConversationTurn> Normalize(IReadOnlyList<ConversationTurn> turns)
    {
        if (turns.Count < 2 || turns.Count % 2 != 0)
        {
            throw new ConversationFormatException($"a conversation needs user and assistant turns in pairs; it has {turns.Count} turn(s)");
        }
        var normalized = new List<ConversationTurn>(turns.Count);
        for (var i = 0; i < turns.Count; i++)
        {
            var turn = turns[i];
            var expected = i % 2 == 0 ? ConversationRole.User : ConversationRole.Assistant;
            if (turn.Role != expected)
            {
                throw new ConversationFormatException($"turn {i} is spoken by {turn.Role}; turns must alternate user, assistant, starting with the user");
            }
            if (string.IsNullOrWhiteSpace(turn.Text) || (turn.Role == ConversationRole.User && string.IsNullOrWhiteSpace(StripPlaceholder(turn.Text))))
            {
                throw new ConversationFormatException($"turn {i} ({turn.Role}) has no text");
            }
            var placeholders = Count(turn.Text, ImagePlaceholder);
            if (placeholders > 0 && (i != 0 || placeholders > 1))
            {
                throw new ConversationFormatException($"turn {i} has {placeholders} '{ImagePlaceholder}' placeholder(s); the image appears once, in the first user turn");
            }
            normalized.Add(i == 0 ? turn with { Text = $"{ImagePlaceholder}\n{StripPlaceholder(turn.Text)}" } : turn with { Text = turn.Text.Trim() });
        }
        return normalized;
    }

    private static int Count(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    private static string Text(JsonObject turn, int index, string name, string alternative)
    {
        var node = turn[name] ?? turn[alternative];
        return node is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new ConversationFormatException($"turn {index}: '{name}' must be a string, found {Describe(node)}");
    }

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "a list",
        JsonObject => "an object",
        _ => $"{node.GetValueKind().ToString().ToLowerInvariant()} {node.ToJsonString()}",
    };
}
