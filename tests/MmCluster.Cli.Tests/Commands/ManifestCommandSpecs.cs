using System.CommandLine;
using System.Text.Json;
using MmCluster.Cli.Commands;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

public sealed class ManifestCommandSpecs : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "mmcluster-cli-tests", Guid.NewGuid().ToString("N"));

    public ManifestCommandSpecs() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task Should_print_one_json_object_with_counts_and_columns_when_inspecting_a_synth_manifest()
    {
        var dir = Path.Combine(_temp, "synth");
        var (synthCode, _, _) = await RunAsync(ManifestCommand.Create(), "synth", "--rows", "1003", "--files", "3", "--row-groups-per-file", "2", "--images", "--out", dir);

        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--json");

        Assert.Equal(0, synthCode);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal(3, root.GetProperty("files").GetInt32());
        Assert.Equal(6, root.GetProperty("row_groups").GetInt32());
        Assert.Equal(1003, root.GetProperty("rows").GetInt64());
        Assert.True(root.GetProperty("bytes").GetInt64() > 0);
        Assert.Equal(["key", "caption", "image", "label"], root.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Should_import_rows_with_classes_from_a_file_when_running_import_idx()
    {
        var images = Path.Combine(_temp, "images.idx");
        var labels = Path.Combine(_temp, "labels.idx");
        var classes = Path.Combine(_temp, "classes.txt");
        await File.WriteAllBytesAsync(images, [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, .. new byte[12]]);
        await File.WriteAllBytesAsync(labels, [0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 1]);
        await File.WriteAllLinesAsync(classes, ["cat", "owl"]);
        var dir = Path.Combine(_temp, "imported");

        var (code, output, _) = await RunAsync(ManifestCommand.Create(), "import-idx", "--images", images, "--labels", labels, "--classes", classes, "--split", "val", "--out", dir);
        var (_, json, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--json");

        Assert.Equal(0, code);
        Assert.Contains("imported 3 val rows", output);
        Assert.Equal(["val-00000.parquet"], Directory.GetFiles(dir).Select(Path.GetFileName));
        using var document = JsonDocument.Parse(json);
        Assert.Equal(3, document.RootElement.GetProperty("splits").GetProperty("val").GetInt64());
    }

    [Fact]
    public async Task Should_exit_1_naming_the_folder_when_inspecting_a_folder_without_parquet_files()
    {
        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "inspect", _temp, "--json");

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains(_temp, error);
        Assert.Contains("no .parquet files", error);
    }

    [Fact]
    public async Task Should_report_a_plan_covering_every_row_when_benchmarking_planning()
    {
        var dir = Path.Combine(_temp, "bench");
        await RunAsync(ManifestCommand.Create(), "synth", "--rows", "5000", "--files", "4", "--row-groups-per-file", "5", "--out", dir);

        var (code, output, _) = await RunAsync(BenchPlanCommand.Create(), "--manifest", dir, "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal(4, root.GetProperty("files").GetInt32());
        Assert.Equal(20, root.GetProperty("row_groups").GetInt32());
        Assert.Equal(20, root.GetProperty("shards").GetInt32());
        Assert.Equal(5000, root.GetProperty("planned_rows").GetInt64());
        Assert.True(root.GetProperty("peak_working_set_mb").GetDouble() > 0);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(Command command, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await command.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
