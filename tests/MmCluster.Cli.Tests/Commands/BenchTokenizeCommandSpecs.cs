using System.Text.Json;
using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

public sealed class BenchTokenizeCommandSpecs : IDisposable
{
    private readonly string _texts = Path.Combine(Path.GetTempPath(), "mmcluster-cli-tests", Guid.NewGuid().ToString("N") + ".txt");

    public BenchTokenizeCommandSpecs()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_texts)!);
        File.WriteAllLines(_texts, ["a photo of a cat.", "", "A Photo Of A Sneaker.", "it's a t-shirt/top"]);
    }

    public void Dispose() => File.Delete(_texts);

    [Theory]
    [InlineData("clip-bpe", 26.0 / 3)]   // 8, 8 and 10 ids up to the end token (OpenCLIP's reference ids)
    [InlineData("gpt2", 24.0 / 3)]       // 6, 7 and 8 GPT-2 ids, each + <|endoftext|>
    public async Task Should_count_the_texts_and_their_ids_when_timing_a_tokenizer(string tokenizer, double idsPerText)
    {
        var (code, output, error) = await InProcessCommand.RunAsync(
            BenchTokenizeCommand.Create(), "--tokenizer", tokenizer, "--texts", _texts, "--threads", "2", "--passes", "2", "--json");

        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(3, root.GetProperty("texts").GetInt32());
        Assert.Equal(Math.Round(idsPerText, 1), root.GetProperty("ids_per_text").GetDouble());
        Assert.True(root.GetProperty("cold_texts_per_s").GetDouble() > 0 && root.GetProperty("warm_tokens_per_s").GetDouble() > 0);
    }

    [Fact]
    public async Task Should_exit_2_naming_the_tokenizers_when_the_name_is_unknown()
    {
        var (code, _, error) = await InProcessCommand.RunAsync(BenchTokenizeCommand.Create(), "--tokenizer", "bert", "--texts", _texts);

        Assert.Equal(2, code);
        Assert.Contains("known: clip-bpe, gpt2", error);
    }
}
