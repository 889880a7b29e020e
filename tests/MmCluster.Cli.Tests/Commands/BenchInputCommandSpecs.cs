using System.Text.Json;
using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

public sealed class BenchInputCommandSpecs : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mmcluster-cli-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(false, "centre-crop")]
    [InlineData(true, "random-resized-crop")]
    public async Task Should_time_the_manifest_s_images_up_to_the_limit_when_benchmarking_input(bool train, string transform)
    {
        await CliHarness.WriteManifestAsync(_folder, trainRows: 12, testRows: 4);
        string[] args = ["--manifest", _folder, "--image-size", "32", "--threads", "2", "--batch", "4", "--limit", "10", "--passes", "2", "--json"];

        var (code, output, error) = await InProcessCommand.RunAsync(BenchInputCommand.Create(), train ? [.. args, "--train"] : args);

        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(10, root.GetProperty("images").GetInt32());
        Assert.Equal(transform, root.GetProperty("transform").GetString());
        Assert.Equal(2, root.GetProperty("pass_seconds").GetArrayLength());
        Assert.True(root.GetProperty("samples_per_s").GetDouble() > 0 && root.GetProperty("samples_per_cpu_s").GetDouble() > 0);
        Assert.Contains("read from the manifest before timing", root.GetProperty("measures").GetString());
    }

    [Fact]
    public async Task Should_exit_2_when_threads_is_zero()
    {
        var (code, _, error) = await InProcessCommand.RunAsync(BenchInputCommand.Create(), "--manifest", _folder, "--threads", "0");

        Assert.Equal(2, code);
        Assert.Contains("--threads", error);
    }
}
