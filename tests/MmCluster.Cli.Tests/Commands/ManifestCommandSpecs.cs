using System.CommandLine;
using System.Text.Json;
using MmCluster.Cli.Commands;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using Parquet;
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

    [Fact]
    public async Task Should_exit_1_naming_repeated_keys_lying_footers_and_skipped_rows_when_verifying_a_broken_manifest()
    {
        var dir = Path.Combine(_temp, "broken");
        await WriteAsync(dir, "a.parquet", null, ("k1", "a cat", "train"), ("k2", " ", "train"), ("k3", "a dog", "train"), ("k1", "a cat again", "train"));
        await WriteAsync(dir, "b.parquet", null, ("k3", "a dog elsewhere", "train"), ("k4", "a bird", "train"));
        await WriteAsync(dir, "lying.parquet", "train", ("k5", "a fish", "train"), ("k6", "a frog", "test"));

        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify");
        var (footersCode, _, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir);

        Assert.Equal((1, 0), (code, footersCode));
        Assert.Contains("verify     7 rows read: 5 pass, 1 skipped (1 EmptyCaption), 0 captions cut", output);
        Assert.Contains("a.parquet, row group 0, row 1 (key 'k2'): skipped, EmptyCaption", output);
        Assert.Contains("duplicates 2 rows repeat a key (1 within a file, 1 across files)", output);
        Assert.Contains("a.parquet, row group 0, row 3: key 'k1' repeats row 0", output);
        Assert.Contains("b.parquet, row group 0, row 0: key 'k3' repeats a.parquet, row 2", output);
        Assert.Contains("refused    1 files", output);
        Assert.Contains("lying.parquet: row group 0, row 1 (key 'k6') says split 'test' but the file's footer says 'train'", output);
        Assert.StartsWith("error: a run refuses this manifest: 1 files stop it", error);
        Assert.Contains("2 rows repeat a key", error);
    }

    [Fact]
    public async Task Should_exit_0_with_a_warning_when_rows_would_only_be_skipped()
    {
        var dir = Path.Combine(_temp, "skips");
        await WriteAsync(dir, "a.parquet", "train", ("k1", "a cat", "train"), ("k2", "", "train"), ("k1", "a cat again", "train"));

        var (refuseCode, _, refuseError) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify");
        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify", "--duplicate-keys", "skip");
        var (jsonCode, json, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify", "--duplicate-keys", "skip", "--json");

        Assert.Equal((1, 0, 0), (refuseCode, code, jsonCode));
        Assert.Contains("1 rows repeat a key (first: a.parquet, row group 0, row 2: key 'k1' repeats row 0; manifest.duplicate_keys: refuse)", refuseError);
        Assert.Equal("", error);
        Assert.Contains("warning: 2 rows would be skipped and counted (1 of them for a repeated key); a run trains on the rest", output);
        using var document = JsonDocument.Parse(json);
        var verify = document.RootElement.GetProperty("verify");
        Assert.Equal((3L, 1L, 1L, 1L, false), (verify.GetProperty("rows_read").GetInt64(), verify.GetProperty("rows_passed").GetInt64(),
            verify.GetProperty("skipped_by_reason").GetProperty("EmptyCaption").GetInt64(), verify.GetProperty("duplicate_keys").GetInt64(),
            verify.GetProperty("run_refuses").GetBoolean()));
        var first = verify.GetProperty("first_duplicates")[0];
        Assert.Equal(("k1", "a.parquet", 2L, 0L), (first.GetProperty("key").GetString(), first.GetProperty("file").GetString(),
            first.GetProperty("row").GetInt64(), first.GetProperty("first_row").GetInt64()));
    }

    [Fact]
    public async Task Should_check_with_the_run_spec_s_policy_and_limits_when_verifying_with_a_spec()
    {
        var dir = Path.Combine(_temp, "spec-checked");
        await WriteAsync(dir, "a.parquet", "train", ("k1", "a cat", "train"), ("k1", "a cat again", "train"));
        var spec = Path.Combine(_temp, "run.yaml");
        await File.WriteAllTextAsync(spec, """
            name: verify
            manifest:
              path: spec-checked
              duplicate_keys: skip
              limits: { max_caption_chars: 3 }
            stages:
              - { name: clip, kind: clip, model: { preset: clip-tiny }, batch_size: 1, steps: 1 }
            """);

        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify", "--spec", spec);
        var (overridden, _, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify", "--spec", spec, "--duplicate-keys", "refuse");
        await File.WriteAllTextAsync(spec, (await File.ReadAllTextAsync(spec)).Replace("max_caption_chars: 3", "max_caption_chars: 0"));
        var (badSpec, _, badError) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify", "--spec", spec);

        Assert.Equal((0, "", 1), (code, error, overridden));
        Assert.Contains("1 pass, 0 skipped (none), 1 captions cut", output);
        Assert.Contains("warning: 1 rows would be skipped and counted (1 of them for a repeated key)", output);
        Assert.Equal(1, badSpec);
        Assert.Contains("manifest.limits.max_caption_chars: must be between 1 and 65,536, got 0", badError);
    }

    [Fact]
    public async Task Should_pass_every_row_when_verifying_a_synth_manifest()
    {
        var dir = Path.Combine(_temp, "clean");
        await RunAsync(ManifestCommand.Create(), "synth", "--rows", "203", "--files", "2", "--row-groups-per-file", "3", "--images", "--out", dir);

        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify");

        Assert.Equal((0, ""), (code, error));
        Assert.Contains("verify     203 rows read: 203 pass, 0 skipped (none), 0 captions cut", output);
        Assert.Contains("ok: every row passes the checks a run makes", output);
    }

    /// <summary>A real Parquet file with the given rows, written with Parquet.Net (the manifest writer refuses repeated keys).</summary>
    private static async Task WriteAsync(string dir, string name, string? footerSplit, params (string Key, string Caption, string Split)[] rows)
    {
        Directory.CreateDirectory(dir);
        var schema = new ManifestSchema(ManifestImageStorage.Embedded, hasLabel: false, hasSplit: true);
        await using var stream = File.Create(Path.Combine(dir, name));
        await using var writer = await ParquetWriter.CreateAsync(schema.Parquet, stream);
        if (footerSplit is not null)
        {
            writer.CustomMetadata = new Dictionary<string, string> { [ManifestSchema.SplitMetadataKey] = footerSplit };
        }
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(schema.KeyField, rows.Select(r => r.Key).ToArray());
        await group.WriteAsync(schema.CaptionField, rows.Select(r => r.Caption).ToArray());
        await group.WriteAsync(schema.ImageField, rows.Select((_, i) => GrayPng.Encode(new byte[16].Select(b => (byte)(i * 40)).ToArray(), 4, 4)).ToArray());
        await group.WriteAsync(schema.SplitField, rows.Select(r => r.Split).ToArray());
    }

    internal static async Task<(int Code, string Output, string Error)> RunAsync(Command command, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await command.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
