using System.Text.Json;
using MmCluster.Cli.Commands;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using Xunit;
using static MmCluster.Cli.Tests.Commands.ManifestCommandSpecs;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>The instruction importers: <c>import-fashion-mnist --instructions</c> and <c>import-llava-json</c>.</summary>
public sealed class ManifestImportCommandSpecs : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "mmcluster-cli-tests", Guid.NewGuid().ToString("N"));

    public ManifestImportCommandSpecs() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task Should_write_conversations_with_held_out_phrasings_on_test_rows_when_importing_fashion_mnist_with_instructions()
    {
        var dataset = Path.Combine(_temp, "dataset");
        WriteFashionMnist(dataset, trainLabels: [7, 0, 9, 8], testLabels: [5, 3]);
        var dir = Path.Combine(_temp, "instruct");

        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "import-fashion-mnist", "--dataset", dataset, "--out", dir, "--instructions");
        var (_, inspect, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir);
        var (_, json, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--json");

        Assert.Equal((0, ""), (code, error));
        Assert.Contains("6 rows in 2 files (test: 2, train: 4), 6 with a conversation", output);
        Assert.Contains("conversations 6 of 6 rows", inspect);
        using var document = JsonDocument.Parse(json);
        Assert.True(document.RootElement.GetProperty("conversation_column").GetBoolean());
        Assert.Equal(6, document.RootElement.GetProperty("conversation_rows").GetInt64());
        await using var reader = new ParquetManifestReader(dir);
        var summary = await ParquetManifestReader.InspectAsync(dir);
        var rows = new List<ManifestRow>();
        foreach (var shard in ShardPlanner.BuildShards(summary.Files))
        {
            await foreach (var row in reader.ReadShardAsync(shard))
            {
                rows.Add(row);
            }
        }
        var labels = new Dictionary<string, int[]> { ["train"] = [7, 0, 9, 8], ["test"] = [5, 3] };
        foreach (var split in labels.Keys)
        {
            var ofSplit = rows.Where(r => r.Split == split).ToList();
            Assert.Equal(
                labels[split].Select((label, i) => FashionMnistInstructions.ForRow(i, label, heldOut: split == "test")),
                ofSplit.Select(r => r.Conversation));
        }
    }

    [Fact]
    public async Task Should_leave_the_conversation_column_out_when_importing_fashion_mnist_without_instructions()
    {
        var dataset = Path.Combine(_temp, "dataset");
        WriteFashionMnist(dataset, trainLabels: [1, 2], testLabels: [3]);
        var dir = Path.Combine(_temp, "plain");

        var (code, output, _) = await RunAsync(ManifestCommand.Create(), "import-fashion-mnist", "--dataset", dataset, "--out", dir);
        var (_, inspect, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir);

        Assert.Equal(0, code);
        Assert.DoesNotContain("conversation", output);
        Assert.DoesNotContain("conversation", inspect);
    }

    [Fact]
    public async Task Should_print_rows_written_and_each_skipped_entry_with_its_id_and_reason_when_importing_llava_json()
    {
        var images = Path.Combine(_temp, "images");
        Directory.CreateDirectory(images);
        await File.WriteAllBytesAsync(Path.Combine(images, "a.png"), GrayPng.Encode(new byte[16], 4, 4));
        var json = Path.Combine(_temp, "llava.json");
        await File.WriteAllTextAsync(json, """
            [{"id": "a", "image": "a.png", "conversations": [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "A square."}]},
             {"id": "b", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]},
             {"id": "c", "image": "c.png", "conversations": [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "?"}]}]
            """);
        var dir = Path.Combine(_temp, "llava");

        var (code, output, error) = await RunAsync(ManifestCommand.Create(), "import-llava-json", "--json", json, "--images", images, "--out", dir, "--split", "train");
        var (_, inspect, _) = await RunAsync(ManifestCommand.Create(), "inspect", dir, "--verify");

        Assert.Equal((0, ""), (code, error));
        Assert.Contains("  entry 1 (id 'b'): skipped, NoImage: no 'image' path (a text-only entry)", output);
        Assert.Contains("  entry 2 (id 'c'): skipped, ImageFileMissing: no file " + Path.Combine(images, "c.png"), output);
        Assert.Contains($"imported 1 of 3 entries into {dir} (1 files)", output);
        Assert.Contains("skipped 2: 1 NoImage, 1 ImageFileMissing", output);
        Assert.Contains("conversations 1 of 1 rows", inspect);
        Assert.Contains("1 rows read: 1 pass, 0 skipped (none), 0 captions cut, 1 with a conversation", inspect);
    }

    [Fact]
    public async Task Should_exit_1_naming_the_file_when_the_llava_json_is_missing()
    {
        var missing = Path.Combine(_temp, "nope.json");

        var (code, _, error) = await RunAsync(ManifestCommand.Create(), "import-llava-json", "--json", missing, "--images", _temp, "--out", Path.Combine(_temp, "o"));

        Assert.Equal(1, code);
        Assert.Contains(missing, error);
    }

    /// <summary>The four Fashion-MNIST IDX files with 2x2 images, under the names the importer looks for.</summary>
    private static void WriteFashionMnist(string folder, byte[] trainLabels, byte[] testLabels)
    {
        Directory.CreateDirectory(folder);
        foreach (var (prefix, labels) in new[] { ("train", trainLabels), ("t10k", testLabels) })
        {
            var count = (byte)labels.Length;   // fewer than 256: the big-endian counts fit in their last byte
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0, 0, count, 0, 0, 0, 2, 0, 0, 0, 2, .. new byte[count * 4]]);
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, count, .. labels]);
        }
    }
}
