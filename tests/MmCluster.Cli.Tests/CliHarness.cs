using System.Diagnostics;
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
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mmcluster.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var lines = new List<string>();
        void Collect(object _, DataReceivedEventArgs e)
        {
            if (e.Data is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        }
        process.OutputDataReceived += Collect;
        process.ErrorDataReceived += Collect;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mmcluster {string.Join(' ', args)} did not finish in {timeout}:\n{string.Join('\n', lines)}");
        }
        process.WaitForExit();
        string log;
        lock (lines)
        {
            log = string.Join('\n', lines);
        }
        output.WriteLine(log);
        return (process.ExitCode, log);
    }

    /// <summary>
    /// A Fashion-MNIST-shaped manifest of random 28x28 images: train and test splits, labels, captions. By path, the
    /// images are files under <c>images/</c>. <paramref name="alter"/> may change each row before it is written (and its
    /// image file, by path), e.g. to make it hostile.
    /// </summary>
    public static async Task WriteManifestAsync(
        string folder, int trainRows, int testRows, int seed = 7,
        ManifestImageStorage storage = ManifestImageStorage.Embedded, Func<ManifestRow, ManifestRow>? alter = null)
    {
        var random = new Random(seed);
        var byPath = storage == ManifestImageStorage.ByPath;
        Directory.CreateDirectory(Path.Combine(folder, "images"));
        foreach (var (split, rows) in new[] { ("train", trainRows), ("test", testRows) })
        {
            await using var writer = new ParquetManifestWriter(folder, new ParquetManifestWriterOptions
            {
                FilePrefix = split, RowsPerGroup = 16, HasLabel = true, HasSplit = true, Storage = storage,
            });
            for (var i = 0; i < rows; i++)
            {
                var label = i % 10;
                var pixels = new byte[28 * 28];
                random.NextBytes(pixels);
                var caption = CaptionTemplates.Render(CaptionTemplates.Training[i % CaptionTemplates.Training.Count], ClassNames.FashionMnist[label]);
                var row = new ManifestRow($"{split}-{i:D4}", caption, GrayPng.Encode(pixels, 28, 28), label, split,
                    byPath ? $"images/{split}-{i:D4}.png" : null);
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
