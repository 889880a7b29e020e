using System.CommandLine;
using System.Text.Json;
using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>
/// Runs alone (<see cref="SerialTorchRandom"/>): the fp32 and bf16-mixed runs each seed the process-wide generator and
/// build their model from it, so a parallel spec's draw in between would give them different weights.
/// </summary>
[Collection(SerialTorchRandom.Name)]
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
    public async Task Should_time_a_bf16_mixed_step_with_another_loss_than_fp32_when_asked_for_that_precision()
    {
        string[] common = ["--model", "clip-micro", "--batch", "4", "--warmup", "0", "--steps", "1", "--json"];
        var (fp32Code, fp32, _) = await RunAsync([.. common, "--precision", "fp32"]);
        var (mixedCode, mixed, _) = await RunAsync([.. common, "--precision", "bf16-mixed"]);
        var (badCode, _, bad) = await RunAsync([.. common, "--precision", "fp16"]);

        Assert.Equal((0, 0, 2), (fp32Code, mixedCode, badCode));
        using var a = JsonDocument.Parse(fp32);
        using var b = JsonDocument.Parse(mixed);
        Assert.Equal("bf16-mixed", b.RootElement.GetProperty("precision").GetString());
        var (lossA, lossB) = (a.RootElement.GetProperty("last_loss").GetDouble(), b.RootElement.GetProperty("last_loss").GetDouble());
        Assert.NotEqual(lossA, lossB);                                   // the same seed and batch: only the arithmetic differs
        Assert.InRange(Math.Abs(lossA - lossB) / lossA, 0, 1e-2);
        Assert.Contains("unknown --precision 'fp16'", bad);
    }

    [Fact]
    public async Task Should_time_blip2_stage1_steps_in_fp32_and_bf16_mixed_when_the_model_is_a_qformer_preset()
    {
        string[] common = ["--model", "blip2-micro", "--vision", "clip-micro", "--vocab", "40", "--batch", "6", "--warmup", "0", "--steps", "1", "--json"];
        var (fp32Code, fp32, _) = await RunAsync([.. common, "--precision", "fp32"]);
        var (mixedCode, mixed, _) = await RunAsync([.. common, "--precision", "bf16-mixed"]);
        var (badCode, _, bad) = await RunAsync("--model", "blip2-micro", "--vision", "blip2-tiny");

        Assert.Equal((0, 0, 2), (fp32Code, mixedCode, badCode));
        using var a = JsonDocument.Parse(fp32);
        using var b = JsonDocument.Parse(mixed);
        Assert.Equal(("blip2-micro", "clip-micro", 40), (a.RootElement.GetProperty("model").GetString(), a.RootElement.GetProperty("vision").GetString(),
            a.RootElement.GetProperty("vocab").GetInt32()));
        Assert.True(a.RootElement.GetProperty("parameters").GetInt64() > 0);
        var (lossA, lossB) = (a.RootElement.GetProperty("last_loss").GetDouble(), b.RootElement.GetProperty("last_loss").GetDouble());
        Assert.NotEqual(lossA, lossB);                                   // the same seed and batch: only the arithmetic differs
        Assert.InRange(Math.Abs(lossA - lossB) / lossA, 0, 1e-2);
        Assert.Contains("unknown --vision 'blip2-tiny'", bad);
    }

    [Fact]
    public async Task Should_exit_2_saying_the_build_has_no_cuda_when_a_gpu_is_asked_for_on_the_cpu_build()
    {
        var (code, _, error) = await RunAsync("--model", "clip-micro", "--device", "cuda");

        Assert.Equal(2, code);
        Assert.Contains("this build's libtorch has no CUDA", error);
    }

    [Fact]
    public async Task Should_report_the_resolved_device_when_auto_is_asked_for()
    {
        var (code, output, _) = await RunAsync("--model", "clip-micro", "--batch", "2", "--warmup", "0", "--steps", "1", "--device", "auto", "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("cpu", json.RootElement.GetProperty("device").GetString());
    }

    [Fact]
    public async Task Should_exit_2_naming_the_presets_when_the_model_is_unknown()
    {
        var (code, _, error) = await RunAsync("--model", "clip-huge");

        Assert.Equal(2, code);
        Assert.Contains("clip-tiny", error);
    }
}
