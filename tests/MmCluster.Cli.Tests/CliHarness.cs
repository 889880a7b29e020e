using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using Xunit.Abstractions;

namespace MmCluster.Cli.Tests;

/// <summary>What the end-to-end specs share: running <c>mmcluster</c> as a user does, and a tiny labelled manifest.</summary>
internal static class CliHarness
{
    /// <summary>Runs <c>dotnet mmcluster.dll ARGS</c>, collects stdout and stderr, kills it after <paramref name="timeout"/>.</summary>
    public static async Task<(int Exit, string Log)> RunAsync(IEnumerable<string> args, TimeSpan timeout, ITestOutputHelper output)
    {
        using var process = CliProcess.Start(args);
        var exit = await process.WaitForExitAsync(timeout);
        var log = process.Log;
        output.WriteLine(log);
        return (exit, log);
    }

    /// <summary>
    /// A tiny recovering CLIP run in <paramref name="root"/>: a manifest of 64 train rows in row groups of 16 (4 shards of
    /// 16 rows), 2 workers x batch 8 (an epoch is 4 steps), <c>recovery:</c> on (1 worker may carry on; 20 s to wait for
    /// a replacement). Returns the spec's path.
    /// </summary>
    public static async Task<string> WriteRecoveryRunAsync(string root, string name, int steps, string replacementWait = "20s", int checkpointEvery = 0)
    {
        var checkpoints = checkpointEvery > 0 ? $", checkpoint_every: {checkpointEvery}" : "";
        var manifest = Path.Combine(root, "manifest");
        await WriteManifestAsync(manifest, trainRows: 64, testRows: 12);
        var spec = Path.Combine(root, $"{name}.yaml");
        await File.WriteAllTextAsync(spec, $$"""
            name: {{name}}
            seed: 3
            world_size: 2
            manifest: { path: {{manifest}} }
            recovery: { min_workers: 1, replacement_wait: {{replacementWait}}, collective_deadline: 20s }
            stages:
              - { name: clip, kind: clip, model: { preset: clip-mini }, batch_size: 8, steps: {{steps}}, eval: { retrieval: { held_out: 4 } }{{checkpoints}} }
            """);
        return spec;
    }

    /// <summary>
    /// A Fashion-MNIST-shaped manifest of random 28x28 images: train and test splits, labels, captions. By path, the
    /// images are files under <c>images/</c>. <paramref name="alter"/> may change each row before it is written (and its
    /// image file, by path), e.g. to make it hostile. With <paramref name="conversations"/> each row has its Fashion-MNIST
    /// instruction conversation (held-out phrasings on the test split).
    /// </summary>
    public static async Task WriteManifestAsync(
        string folder, int trainRows, int testRows, int seed = 7,
        ManifestImageStorage storage = ManifestImageStorage.Embedded, Func<ManifestRow, ManifestRow>? alter = null, bool conversations = false)
    {
        var random = new Random(seed);
        var byPath = storage == ManifestImageStorage.ByPath;
        Directory.CreateDirectory(Path.Combine(folder, "images"));
        foreach (var (split, rows) in new[] { ("train", trainRows), ("test", testRows) })
        {
            await using var writer = new ParquetManifestWriter(folder, new ParquetManifestWriterOptions
            {
                FilePrefix = split, RowsPerGroup = 16, HasLabel = true, HasSplit = true, Storage = storage, HasConversation = conversations,
            });
            for (var i = 0; i < rows; i++)
            {
                var label = i % 10;
                var pixels = new byte[28 * 28];
                random.NextBytes(pixels);
                var caption = CaptionTemplates.Render(CaptionTemplates.Training[i % CaptionTemplates.Training.Count], ClassNames.FashionMnist[label]);
                var row = new ManifestRow($"{split}-{i:D4}", caption, GrayPng.Encode(pixels, 28, 28), label, split,
                    byPath ? $"images/{split}-{i:D4}.png" : null)
                {
                    Conversation = conversations ? FashionMnistInstructions.ForRow(i, label, heldOut: split != "train") : null,
                };
                row = alter?.Invoke(row) ?? row;
                if (byPath)
                {
                    await File.WriteAllBytesAsync(Path.Combine(folder, $"images/{split}-{i:D4}.png"), row.Image);
                    row = row with { Image = [] };
                }
                await writer.AddAsync(row);
            }
        }
    }
}
