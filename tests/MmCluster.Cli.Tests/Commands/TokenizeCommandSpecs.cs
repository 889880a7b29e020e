using System.Text.Json;
using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

public sealed class TokenizeCommandSpecs
{
    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) =>
        InProcessCommand.RunAsync(TokenizeCommand.Create(), args);

    [Fact]
    public async Task Should_print_openclips_ids_and_tokens_up_to_the_end_token_when_the_tokenizer_is_clip_bpe()
    {
        var (code, output, _) = await RunAsync("--tokenizer", "clip-bpe", "a photo of a cat.");

        Assert.Equal(0, code);
        // OpenCLIP's ids for this sentence (the project's reference ids).
        Assert.Contains("ids:    49406 320 1125 539 320 2368 269 49407\n", output);
        Assert.Contains("tokens: \"<start_of_text>\" \"a</w>\" \"photo</w>\" \"of</w>\" \"a</w>\" \"cat</w>\" \".</w>\" \"<end_of_text>\"", output);
    }

    [Fact]
    public async Task Should_give_a_json_row_per_text_cut_to_77_when_a_text_is_too_long()
    {
        var (code, output, _) = await RunAsync("--tokenizer", "clip-bpe", "--json", "A Photo Of A Sneaker.", string.Concat(Enumerable.Repeat("a cat ", 60)));

        Assert.Equal(0, code);
        var rows = JsonDocument.Parse(output).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal([49406, 320, 1125, 539, 320, 24781, 269, 49407], rows[0].GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()));
        Assert.False(rows[0].GetProperty("truncated").GetBoolean());
        var cut = rows[1].GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToList();
        Assert.Equal((77, 49407, true), (cut.Count, cut[^1], rows[1].GetProperty("truncated").GetBoolean()));
        Assert.Equal("<end_of_text>", rows[1].GetProperty("tokens")[76].GetString());
    }

    [Fact]
    public async Task Should_end_with_gpt2s_end_of_text_when_the_tokenizer_is_gpt2()
    {
        var (code, output, _) = await RunAsync("--tokenizer", "gpt2", "--json", "a photo");

        Assert.Equal(0, code);
        var row = JsonDocument.Parse(output).RootElement[0];
        Assert.Equal([64, 4590, 50256], row.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()));
        Assert.Equal(["a", " photo", "<|endoftext|>"], row.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task Should_exit_2_naming_the_tokenizers_when_the_name_is_unknown()
    {
        var (code, output, error) = await RunAsync("--tokenizer", "bert", "a photo");

        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Contains("unknown --tokenizer 'bert'; known: clip-bpe, gpt2", error);
    }
}
