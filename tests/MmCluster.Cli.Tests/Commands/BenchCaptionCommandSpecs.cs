using System.CommandLine;
using System.Text.Json;
using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>
/// Each run seeds libtorch's process-wide generator and builds its model from it, so a spec of another class drawing from
/// it in between would give the cached and uncached runs different weights (it did once in CI): these run alone.
/// </summary>
[Collection(SerialTorchRandom.Name)]
public sealed class BenchCaptionCommandSpecs
{
    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await BenchCaptionCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    public async Task Should_print_the_same_captions_with_and_without_the_cache_when_timing_as_json(string beams)
    {
        async Task<JsonElement> Run(string cache) =>
            JsonDocument.Parse((await RunAsync("--cache", cache, "--beams", beams, "--images", "3", "--batch", "2", "--max-tokens", "3", "--json")).Output).RootElement;

        var on = await Run("on");
        var off = await Run("off");

        Assert.Equal("on", on.GetProperty("cache").GetString());
        Assert.Equal("off", off.GetProperty("cache").GetString());
        Assert.Equal(on.GetProperty("captions_hash").GetString(), off.GetProperty("captions_hash").GetString());
        Assert.Equal(9, on.GetProperty("tokens").GetInt64());   // a random model says no EOT: 3 images x 3 tokens
        Assert.True(on.GetProperty("images_per_s").GetDouble() > 0);
        Assert.True(off.GetProperty("images_per_cpu_s").GetDouble() > 0);
    }

    [Fact]
    public async Task Should_refuse_a_cache_setting_other_than_on_or_off()
    {
        var (code, _, error) = await RunAsync("--cache", "maybe");

        Assert.NotEqual(0, code);
        Assert.Contains("maybe", error);
    }
}

/// <summary>Specs whose outcome depends on libtorch's process-wide random generator: they run alone, after the others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchRandom
{
    public const string Name = "serial torch random";
}
