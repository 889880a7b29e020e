using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using MmCluster.Shared.Text;
using MmCluster.Worker.Training;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster tokenize --tokenizer clip-bpe|gpt2 TEXT... [--json]</c>: each text's ids and token strings, for a user
/// debugging prompts. clip-bpe: OpenCLIP's row up to and including the end token (<see cref="ClipTokenizer"/>; the rest
/// of the 77 is padding with 0). gpt2: the GPT-2 BPE ids this product's small presets train on, then the
/// &lt;|endoftext|&gt; that ends a caption's row (<see cref="CaptionTokenizer"/>; each model cuts to its own context).
/// </summary>
internal static class TokenizeCommand
{
    public static readonly IReadOnlyList<string> Tokenizers = TextTokenizers.Names;

    // Texts and tokens as written ("<start_of_text>", "é"), escaped only where JSON must.
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "clip-bpe (OpenCLIP's) or gpt2.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON array: per text its ids and tokens." };
        var texts = new Argument<string[]>("TEXT") { Description = "Texts to tokenize.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("tokenize", "Print the token ids and tokens of texts with CLIP's BPE (OpenCLIP) or GPT-2's.")
        {
            tokenizer, json, texts,
        };
        command.SetAction(result => Run(
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, result.GetValue(tokenizer)!, result.GetValue(texts)!, result.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter output, TextWriter error, string name, string[] texts, bool json)
    {
        if (!Tokenizers.Contains(name))
        {
            error.WriteLine($"mmcluster tokenize: unknown --tokenizer '{name}'; known: {string.Join(", ", Tokenizers)}");
            return 2;
        }
        var rows = texts.Select(text => name == TextTokenizers.ClipBpe ? Clip(text) : Gpt2(text)).ToList();
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(rows.Select(row => new { text = row.Text, ids = row.Ids, tokens = row.Tokens, truncated = row.Truncated }), Json));
            return 0;
        }
        foreach (var row in rows)
        {
            output.WriteLine($"{JsonSerializer.Serialize(row.Text, Json)}: {row.Ids.Count} ids{(row.Truncated ? $" (cut to the context of {ClipTokenizer.DefaultContextLength})" : "")}");
            output.WriteLine($"  ids:    {string.Join(' ', row.Ids)}");
            output.WriteLine($"  tokens: {string.Join(' ', row.Tokens.Select(token => JsonSerializer.Serialize(token, Json)))}");
        }
        return 0;
    }

    private static Row Clip(string text)
    {
        var tokenizer = ClipTokenizer.Default;
        var ids = tokenizer.Tokenize(text);
        var truncated = tokenizer.Encode(text).Count + 2 > ClipTokenizer.DefaultContextLength;
        return new Row(text, ids, [.. ids.Select(tokenizer.TokenText)], truncated);
    }

    private static Row Gpt2(string text)
    {
        var tokens = CaptionTokenizer.EncodeTokens(text);
        return new Row(text, [.. tokens.Select(t => t.Id), (int)CaptionTokenizer.EndOfText], [.. tokens.Select(t => t.Token), "<|endoftext|>"], false);
    }

    private sealed record Row(string Text, IReadOnlyList<int> Ids, IReadOnlyList<string> Tokens, bool Truncated);
}
