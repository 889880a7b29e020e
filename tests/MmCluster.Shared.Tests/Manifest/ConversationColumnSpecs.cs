using MmCluster.Shared.Manifest;
using Parquet;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

public sealed class ConversationColumnSpecs : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Should_read_back_the_parsed_conversation_and_count_the_rows_that_have_one_when_the_column_is_written()
    {
        var asked = Conversation.Single("What is the item in the image?", "a sneaker", "category");
        var options = new ParquetManifestWriterOptions { HasLabel = true, HasSplit = true, HasConversation = true, RowsPerGroup = 2 };
        await using (var writer = new ParquetManifestWriter(_temp.Path, options))
        {
            await writer.AddAsync(ManifestFixtures.Row(0) with { Conversation = asked });
            await writer.AddAsync(ManifestFixtures.Row(1));
            await writer.AddAsync(ManifestFixtures.Row(2) with { Conversation = asked });
        }

        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        await using var reader = new ParquetManifestReader(_temp.Path);
        var rows = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));

        Assert.True(summary.HasConversation);
        Assert.Equal(2, summary.ConversationRows);
        Assert.Contains(summary.Columns, c => c is { Name: "conversation", Type: "string", Nullable: true });
        Assert.Equal([asked, null, asked], rows.Select(r => r.Conversation));
        Assert.Equal("category", rows[0].Conversation!.Exchanges[0].Kind);
        Assert.Equal(2, reader.Stats.RowsWithConversation);
    }

    [Fact]
    public async Task Should_read_rows_without_a_conversation_when_the_file_has_no_such_column()
    {
        await ManifestFixtures.WriteAsync(_temp.Path, rows: 3, rowsPerGroup: 3, rowsPerFile: 3);

        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        await using var reader = new ParquetManifestReader(_temp.Path);
        var rows = await ManifestFixtures.ReadAllAsync(reader, ShardPlanner.BuildShards(summary.Files));

        Assert.False(summary.HasConversation);
        Assert.Equal(0, summary.ConversationRows);
        Assert.DoesNotContain(summary.Columns, c => c.Name == "conversation");
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Null(r.Conversation));
        Assert.Equal(0, reader.Stats.Skipped);
    }

    [Fact]
    public async Task Should_skip_and_count_a_row_naming_its_file_row_and_parse_error_when_its_conversation_does_not_parse()
    {
        var good = Conversation.Single("Is this a bag?", "no", "yes-no").ToJson();
        await WriteRawAsync(_temp.Combine("part-00000.parquet"),
            [good, """[{"from": "gpt", "value": "a"}, {"from": "human", "value": "b?"}]""", "not json", null]);

        var summary = await ParquetManifestReader.InspectAsync(_temp.Path);
        var skips = new List<RowSkip>();
        var shardStats = new ManifestReadStats { OnSkip = skips.Add };
        await using var reader = new ParquetManifestReader(_temp.Path);
        var rows = new List<ManifestRow>();
        await foreach (var row in reader.ReadShardAsync(ShardPlanner.BuildShards(summary.Files)[0], shardStats))
        {
            rows.Add(row);
        }

        Assert.Equal(["k0", "k3"], rows.Select(r => r.Key));
        Assert.Equal(2, reader.Stats.SkippedFor(RowSkipReason.MalformedConversation));
        Assert.Equal(0, reader.Stats.SkippedUndecodableImage);
        Assert.Equal(new Dictionary<string, long> { ["MalformedConversation"] = 2 }, SkipCounts.From(shardStats.SkippedByReason));
        Assert.Equal([1L, 2L], skips.Select(s => s.Row));
        Assert.Equal(
            "part-00000.parquet, row group 0, row 1 (key 'k1'): skipped, MalformedConversation: turn 0 is spoken by Assistant; turns must alternate user, assistant, starting with the user",
            skips[0].ToString());
        Assert.StartsWith("conversation is not JSON", skips[1].Detail, StringComparison.Ordinal);
        Assert.Equal(1, reader.Stats.RowsWithConversation);
    }

    [Fact]
    public async Task Should_count_rows_with_a_conversation_and_name_malformed_ones_when_verifying()
    {
        await WriteRawAsync(_temp.Combine("part-00000.parquet"), [Conversation.Single("What is it?", "a bag").ToJson(), "[]", null]);

        var verification = await ManifestVerifier.VerifyAsync(_temp.Path);

        Assert.Equal(1, verification.Stats.RowsWithConversation);
        Assert.Equal(1, verification.SkippedRows);
        Assert.Equal(RowSkipReason.MalformedConversation, Assert.Single(verification.FirstSkips).Reason);
    }

    /// <summary>A manifest file whose conversation column holds the given strings as they are (the writer only writes valid ones).</summary>
    private static async Task WriteRawAsync(string path, string?[] conversations)
    {
        var schema = new ManifestSchema(ManifestImageStorage.Embedded, hasLabel: false, hasSplit: false, hasConversation: true);
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema.Parquet, stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(schema.KeyField, conversations.Select((_, i) => $"k{i}").ToArray());
        await group.WriteAsync(schema.CaptionField, conversations.Select(_ => "a photo of a bag.").ToArray());
        await group.WriteAsync(schema.ImageField, conversations.Select((_, i) => ManifestFixtures.Png(i)).ToArray());
        await group.WriteAsync(schema.ConversationField, conversations);
    }
}
