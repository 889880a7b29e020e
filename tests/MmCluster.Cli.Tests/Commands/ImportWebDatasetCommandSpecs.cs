using System.Formats.Tar;
using System.Text;
using MmCluster.Cli.Commands;
using Parquet;
using Parquet.Schema;
using SkiaSharp;
using Xunit;
using static MmCluster.Cli.Tests.Commands.ManifestCommandSpecs;

namespace MmCluster.Cli.Tests.Commands;

/// <summary><c>manifest import-webdataset</c> and <c>manifest inspect --columns</c> on real tars and img2dataset-style Parquet.</summary>
public sealed class ImportWebDatasetCommandSpecs : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "mmcluster-cli-tests", Guid.NewGuid().ToString("N"));

    public ImportWebDatasetCommandSpecs() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task Should_name_skipped_members_and_sum_up_then_keep_finished_files_when_run_again()
    {
        WriteTar("00000.tar", ("000000000.jpg", Jpeg(1)), Text("000000000.txt", "a red thing"), ("000000001.jpg", Jpeg(2)), Text("000000001.json", "{}"));
        WriteTar("00001.tar", ("000010000.jpg", Jpeg(3)), Text("000010000.txt", "a blue thing"), Text("000010000.cls", "4"), ("000010001.jpg", Jpeg(4)), Text("000010001.txt", "a green thing"));
        var bytes = Jpeg(1).Length + Jpeg(3).Length + Jpeg(4).Length;
        var (shards, dir) = (Path.Combine(_temp, "{00000..00001}.tar"), Path.Combine(_temp, "out"));

        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "import-webdataset", "--shards", shards, "--out", dir, "--threads", "2");
        var (again, rerun, _) = await RunAsync(ManifestCommand.Create(), "import-webdataset", "--shards", shards, "--out", dir);
        var (_, inspect, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir);

        Assert.Equal((0, ""), (code, error));
        Assert.Contains("  00000.tar: 000000001.jpg: skipped, MissingCaption: no 000000001.txt", output);
        Assert.Contains($"imported 2 tars into {dir} (0 kept from an earlier import): 3 rows (1 with a label), {bytes / 1e6:N1} MB of images; skipped 1: 1 MissingCaption", output);
        Assert.Equal(0, again);
        Assert.Contains("kept 2 file(s) an earlier import finished, their tars not read again: 00000.tar, 00001.tar", rerun);
        Assert.Contains("(2 kept from an earlier import): 3 rows (1 with a label)", rerun);
        Assert.Contains("labels     1 of 3 rows in 'label'", inspect);
        Assert.Contains("this run: 0 tars, 0 rows", rerun);
        Assert.Equal(["00000.parquet", "00001.parquet"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Should_fail_naming_the_pattern_when_it_matches_no_tar()
    {
        var (code, _, error) = await RunAsync(ManifestCommand.Create(), "import-webdataset", "--shards", Path.Combine(_temp, "{00000..00009}.tar"), "--out", Path.Combine(_temp, "out"));

        Assert.Equal(1, code);
        Assert.StartsWith($"error: {Path.Combine(_temp, "{00000..00009}.tar")}: the shard pattern matches no file", error);
    }

    [Fact]
    public async Task Should_show_the_mapping_and_verify_through_it_when_inspect_is_given_columns()
    {
        await WriteImg2DatasetAsync(Path.Combine(_temp, "parquet", "00000.parquet"));
        var dir = Path.Combine(_temp, "parquet");

        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--columns", "image=jpg,caption=txt,key=key", "--verify");
        var (wrong, _, refused) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--columns", "image=jpeg,caption=txt");

        Assert.Equal((0, ""), (code, error));
        Assert.Contains("mapping    key: key, caption: txt, image: jpg (manifest column: the files' column)", output);
        Assert.Contains("verify     2 rows read: 2 pass, 0 skipped", output);
        Assert.Equal(1, wrong);
        Assert.Contains("00000.parquet: missing column 'jpeg' (manifest.columns.image) (binary)", refused);
    }

    private static byte[] Jpeg(int seed)
    {
        using var bitmap = new SKBitmap(32, 24);
        bitmap.Erase(new SKColor((byte)(seed * 60), (byte)(seed * 30), (byte)(255 - seed * 40)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static (string, byte[]) Text(string name, string text) => (name, Encoding.UTF8.GetBytes(text));

    private void WriteTar(string name, params (string Name, byte[] Data)[] members)
    {
        using var file = File.Create(Path.Combine(_temp, name));
        using var writer = new TarWriter(file, TarEntryFormat.Pax);
        foreach (var (member, data) in members)
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, member) { DataStream = new MemoryStream(data) });
        }
    }

    private static async Task WriteImg2DatasetAsync(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        DataField[] fields = [new DataField<string>("key"), new DataField<byte[]>("jpg"), new DataField<string>("txt"), new DataField<string>("url")];
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(fields[0], new[] { "000000000", "000000001" });
        await group.WriteAsync(fields[1], new[] { Jpeg(1), Jpeg(2) });
        await group.WriteAsync(fields[2], new[] { "a red thing", "a blue thing" });
        await group.WriteAsync(fields[3], new[] { "https://example.com/0.jpg", "https://example.com/1.jpg" });
    }
}
