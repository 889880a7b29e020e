using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using SkiaSharp;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

public sealed class LlavaJsonImporterSpecs : IDisposable
{
    private readonly TempFolder _temp = new();

    public LlavaJsonImporterSpecs()
    {
        Directory.CreateDirectory(_temp.Combine("images", "coco"));
        File.WriteAllBytes(_temp.Combine("images", "coco", "a.png"), ManifestFixtures.Png(1));
        File.WriteAllBytes(_temp.Combine("images", "coco", "b.png"), ManifestFixtures.Png(2));
        File.WriteAllBytes(_temp.Combine("images", "coco", "broken.png"), "not a png at all"u8.ToArray());
        File.WriteAllBytes(_temp.Combine("secret.png"), ManifestFixtures.Png(3));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Should_stream_the_file_acting_on_its_first_entries_before_the_rest_is_written()
    {
        // A named pipe: the importer reads what the writer has sent so far. An importer that read the whole file first would
        // name no skipped entry before the writer closed it, and the wait below would time out.
        var json = _temp.Combine("stream.json");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [json]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var firstSkip = new TaskCompletionSource<LlavaImportSkip>(TaskCreationOptions.RunContinuationsAsynchronously);
        const string Entry = """{"id": "ID", "image": "coco/a.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "A square."}]}""";
        var import = Task.Run(() => LlavaJsonImporter.ImportAsync(
            new LlavaJsonImportOptions(json, _temp.Combine("images"), _temp.Combine("out")), s => firstSkip.TrySetResult(s)));

        await using (var writer = new StreamWriter(new FileStream(json, FileMode.Open, FileAccess.Write)))
        {
            await writer.WriteAsync("[42, " + Entry.Replace("ID", "first", StringComparison.Ordinal) + ", ");
            await writer.FlushAsync();
            var skip = await firstSkip.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal((0L, LlavaImportSkipReason.NotAnObject), (skip.Entry, skip.Reason));
            Assert.False(import.IsCompleted);
            await writer.WriteAsync(string.Join(", ", Enumerable.Range(0, 200).Select(i => Entry.Replace("ID", $"row-{i}", StringComparison.Ordinal))) + "]");
        }
        var result = await import.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal((202L, 201L), (result.Entries, result.RowsWritten));
    }

    [Fact]
    public async Task Should_write_a_row_per_good_entry_and_name_every_entry_it_leaves_out_by_reason()
    {
        var json = WriteJson("""
            [
              {"id": "000a", "image": "coco/a.png", "conversations": [
                {"from": "human", "value": "What is in the picture?\n<image>"}, {"from": "gpt", "value": "A gray square."},
                {"from": "human", "value": "Is it bright?"}, {"from": "gpt", "value": "No."}]},
              {"id": "text-only", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]},
              {"id": "gone", "image": "coco/missing.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "x"}]},
              {"id": "broken", "image": "coco/broken.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "x"}]},
              {"id": "escape", "image": "../secret.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "x"}]},
              {"id": "backwards", "image": "coco/b.png", "conversations": [{"from": "gpt", "value": "x"}, {"from": "human", "value": "y?"}]},
              {"id": "000a", "image": "coco/b.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "x"}]},
              42,
              {"image": "coco/b.png", "conversations": []},
              {"id": 7, "image": "coco/b.png", "conversations": [{"from": "human", "value": "Describe it. <image>"}, {"from": "gpt", "value": "Another square."}]}
            ]
            """);
        var skips = new List<LlavaImportSkip>();

        var result = await LlavaJsonImporter.ImportAsync(new LlavaJsonImportOptions(json, _temp.Combine("images"), _temp.Combine("out")) { Split = "train" }, skips.Add);

        Assert.Equal((10L, 2L), (result.Entries, result.RowsWritten));
        Assert.Equal(
            [
                (1L, "text-only", LlavaImportSkipReason.NoImage), (2, "gone", LlavaImportSkipReason.ImageFileMissing),
                (3, "broken", LlavaImportSkipReason.ImageUndecodable), (4, "escape", LlavaImportSkipReason.ImageOutsideFolder),
                (5, "backwards", LlavaImportSkipReason.MalformedConversation), (6, "000a", LlavaImportSkipReason.DuplicateId),
                (7, null, LlavaImportSkipReason.NotAnObject), (8, null, LlavaImportSkipReason.MissingId),
            ],
            skips.Select(s => (s.Entry, s.Id, s.Reason)));
        Assert.Equal("entry 5 (id 'backwards'): skipped, MalformedConversation: turn 0 is spoken by Assistant; turns must alternate user, assistant, starting with the user", skips[4].ToString());
        Assert.Contains("missing.png", skips[1].Detail);
        Assert.Equal(8, result.Skipped);
        Assert.Equal(1, result.SkippedByReason[LlavaImportSkipReason.NoImage]);
        Assert.Equal(["train-00000.parquet"], result.Files.Select(Path.GetFileName));

        var summary = await ParquetManifestReader.InspectAsync(_temp.Combine("out"));
        await using var reader = new ParquetManifestReader(_temp.Combine("out"));
        var rows = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));
        Assert.Equal(0, reader.Stats.Skipped);
        Assert.Equal(["000a", "7"], rows.Select(r => r.Key));
        Assert.Equal(["A gray square.", "Another square."], rows.Select(r => r.Caption));
        Assert.All(rows, r => Assert.Equal("train", r.Split));
        Assert.Equal(ManifestFixtures.Png(1), rows[0].Image);
        Assert.Equal("<image>\nWhat is in the picture?", rows[0].Conversation!.Turns[0].Text);
        Assert.Equal([("What is in the picture?", "A gray square.", null), ("Is it bright?", "No.", null)], rows[0].Conversation!.Exchanges);
        Assert.Equal("<image>\nDescribe it.", rows[1].Conversation!.Turns[0].Text);
        using var bitmap = SKBitmap.Decode(rows[1].Image);
        Assert.Equal(4, bitmap.Width);
    }

    [Fact]
    public async Task Should_stop_naming_the_file_when_it_is_not_a_json_list()
    {
        var json = WriteJson("""{"id": "a", "image": "coco/a.png"}""");

        var error = await Assert.ThrowsAsync<ManifestException>(
            () => LlavaJsonImporter.ImportAsync(new LlavaJsonImportOptions(json, _temp.Combine("images"), _temp.Combine("out"))));

        Assert.Contains(json, error.Message);
        Assert.Contains("not a JSON list of LLaVA entries", error.Message);
    }

    [Fact]
    public async Task Should_name_llava_files_without_a_split_column_when_no_split_is_given()
    {
        var json = WriteJson("""[{"id": "x", "image": "coco/a.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "a square"}]}]""");

        var result = await LlavaJsonImporter.ImportAsync(new LlavaJsonImportOptions(json, _temp.Combine("images"), _temp.Combine("out")));

        var summary = await ParquetManifestReader.InspectAsync(_temp.Combine("out"));
        Assert.Equal(["llava-00000.parquet"], result.Files.Select(Path.GetFileName));
        Assert.Equal(["key", "caption", "image", "conversation"], summary.Columns.Select(c => c.Name));
        Assert.Equal(1, summary.ConversationRows);
    }

    private string WriteJson(string text)
    {
        var path = _temp.Combine("llava.json");
        File.WriteAllText(path, text);
        return path;
    }
}
