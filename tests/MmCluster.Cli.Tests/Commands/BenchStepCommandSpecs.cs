using System.CommandLine;
using System.Text.Json;
using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

public sealed class BenchStepCommandSpecs
{
    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await BenchStepCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Should_print_median_and_throughput_as_json_when_timing_a_micro_model()
    {
        var (code, output, _) = await RunAsync("--model", "clip-micro", "--batch", "4", "--threads", "1", "--warmup", "1", "--steps", "3", "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.True(root.GetProperty("ms_per_step_median").GetDouble() > 0);
        Assert.True(root.GetProperty("samples_per_s").GetDouble() > 0);
        Assert.Equal(3, root.GetProperty("ms_per_step").GetArrayLength());
        Assert.True(root.GetProperty("parameters").GetInt64() > 0);
    }

    [Fact]
    public async Task Should_exit_2_naming_the_presets_when_the_model_is_unknown()
    {
        var (code, _, error) = await RunAsync("--model", "clip-huge");

        Assert.Equal(2, code);
        Assert.Contains("clip-tiny", error);
    }
}
