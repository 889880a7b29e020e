using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Runtime;

/// <summary>This rank's slice of the test split (every W-th row from its rank), decoded once for repeated evaluations.</summary>
internal sealed record EvaluationSet(float[] Pixels, int Count, int[] Labels, string[] Captions)
{
    /// <summary>Each row's manifest key (what a log names a row by).</summary>
    public string[] Keys { get; init; } = [];

    /// <summary>Each row's conversation (null where it has none): the held-out questions of the chat stages.</summary>
    public Conversation?[] Conversations { get; init; } = [];

    public static async Task<EvaluationSet> LoadAsync(
        StageConfig config, ImageDecoder decoder, int rank, int world, CancellationToken ct)
    {
        var split = config.TestSplit;
        var summary = await ParquetManifestReader.InspectAsync(config.ManifestPath, config.ColumnMapping, ct).ConfigureAwait(false);
        var shards = ShardPlanner.BuildShards(summary.Files, new ShardPlanOptions { Split = split });
        await using var reader = config.OpenManifest(split);
        var images = new List<byte[]>();
        var labels = new List<int>();
        var keys = new List<string>();
        var captions = new List<string>();
        var conversations = new List<Conversation?>();
        long index = 0;
        foreach (var shard in shards.OrderBy(s => s.File, StringComparer.Ordinal).ThenBy(s => s.FirstRowGroup))
        {
            await foreach (var row in reader.ReadShardAsync(shard, cancellationToken: ct).ConfigureAwait(false))
            {
                if (index++ % world == rank)
                {
                    images.Add(row.Image);
                    labels.Add(row.Label ?? -1);
                    keys.Add(row.Key);
                    captions.Add(row.Caption);
                    conversations.Add(row.Conversation);
                }
            }
        }
        var per = decoder.ValuesPerImage;
        var pixels = new float[(long)images.Count * per];
        for (var i = 0; i < images.Count; i++)
        {
            decoder.Decode(images[i], pixels.AsSpan(i * per, per), $"{split}[{i}]");
        }
        return new EvaluationSet(pixels, images.Count, [.. labels], [.. captions]) { Conversations = [.. conversations], Keys = [.. keys] };
    }

    /// <summary>The first <paramref name="count"/> rows as a batch (labels only when every row has one).</summary>
    public ClipBatch Batch(int count, ImageDecoder decoder, ITextRowTokenizer tokenizer)
    {
        count = Math.Min(count, Count);
        var per = decoder.ValuesPerImage;
        var labels = Labels.Take(count).ToArray();
        return new ClipBatch(
            Pixels.AsSpan(0, count * per).ToArray(), [count, decoder.Channels, decoder.Size, decoder.Size],
            tokenizer.EncodeBatch(Captions.Take(count).ToList()), tokenizer.ContextLength)
        {
            Labels = labels.All(l => l >= 0) ? labels : [],
        };
    }

    /// <summary>The first <paramref name="count"/> rows as conversation rows (<see cref="BatchBuilder.ConversationOf"/>).</summary>
    public ClipBatch ChatBatch(int count, ImageDecoder decoder, ConversationTemplate template, ChatSource source)
    {
        count = Math.Min(count, Count);
        var per = decoder.ValuesPerImage;
        var rows = Enumerable.Range(0, count)
            .Select(i => template.Encode(BatchBuilder.ConversationOf(
                new CaptionedImage($"test[{i}]", Captions[i], default, Labels[i], Conversations.Length > i ? Conversations[i] : null), source)))
            .ToArray();
        var (inputs, targets, context) = BatchBuilder.Pack(rows);
        return new ClipBatch(Pixels.AsSpan(0, count * per).ToArray(), [count, decoder.Channels, decoder.Size, decoder.Size], inputs, context)
        {
            Targets = targets,
            ImagePosition = template.ImagePosition,
        };
    }
}
