using System.CommandLine;
using System.Diagnostics;
using MmCluster.Shared.Manifest.Import;
using Spectre.Console;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster manifest import-webdataset --shards PATTERN --out DIR [--threads N]</c>: img2dataset's webdataset tars
/// into a manifest (<see cref="WebDatasetImporter"/>) with a progress bar, the members it left out (tar, member,
/// reason) and a summary: tars, rows (and how many carry a label from <c>KEY.cls</c>), image bytes, skips by reason.
/// </summary>
internal static class ImportWebDatasetCommand
{
    private const int ShownSkips = 100;

    public static Command Create()
    {
        var shards = new Option<string[]>("--shards")
        {
            Description = "Tar patterns: brace ranges 'DIR/{00000..00099}.tar', lists '{a,b}', globs 'DIR/*.tar' (repeatable).",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--out") { Description = "Output manifest folder (one NAME.parquet per NAME.tar).", Required = true };
        var threads = new Option<int>("--threads") { Description = "Tars imported at once.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var split = new Option<string?>("--split") { Description = "Split name for every row (split column and footer)." };
        var rowsPerGroup = new Option<int>("--rows-per-group") { Description = "Rows per row group (images each thread holds in memory).", DefaultValueFactory = _ => 500 };
        var skipReport = new Option<string?>("--skip-report") { Description = "Also write every skipped member (tar, member, reason, detail; tab-separated) to this file." };
        var command = new Command("import-webdataset", "Import webdataset tars (img2dataset: KEY.jpg/.png/.webp, KEY.txt, KEY.json; KEY.cls as the label) as a manifest, resumably.")
        {
            shards, output, threads, split, rowsPerGroup, skipReport,
        };
        command.SetAction((parse, ct) => ManifestCommand.Guard(parse, async () =>
        {
            var log = parse.InvocationConfiguration.Output;
            var options = new WebDatasetImportOptions(parse.GetValue(shards)!, parse.GetValue(output)!)
            {
                Threads = parse.GetValue(threads),
                Split = parse.GetValue(split),
                RowsPerGroup = parse.GetValue(rowsPerGroup),
            };
            var shown = new List<WebDatasetSkip>();
            var skips = 0L;
            await using var report = parse.GetValue(skipReport) is { } path ? new StreamWriter(path) : null;
            var watch = Stopwatch.StartNew();
            var progress = new WebDatasetImportProgress();
            var import = WebDatasetImporter.ImportAsync(options, progress, skip =>
            {
                if (skips++ < ShownSkips)
                {
                    shown.Add(skip);
                }
                report?.WriteLine($"{skip.Tar}\t{skip.Member}\t{skip.Reason}\t{skip.Detail.ReplaceLineEndings(" ")}");
            }, ct);
            await ShowProgressAsync(import, progress, log);
            var result = await import;
            var seconds = watch.Elapsed.TotalSeconds;
            if (result.PartialFilesRemoved > 0)
            {
                log.WriteLine($"removed {result.PartialFilesRemoved} unfinished file(s) of an interrupted import; their tars were imported again");
            }
            if (result.Kept > 0)
            {
                log.WriteLine($"kept {result.Kept} file(s) an earlier import finished, their tars not read again: "
                    + string.Join(", ", result.Tars.Where(t => t.Kept).Take(10).Select(t => Path.GetFileName(t.Tar))) + (result.Kept > 10 ? ", ..." : ""));
            }
            foreach (var skip in shown)
            {
                log.WriteLine($"  {skip}");
            }
            if (skips > ShownSkips)
            {
                log.WriteLine($"  ... and {skips - ShownSkips:N0} more skipped members{(report is null ? " (--skip-report FILE lists them all)" : "")}");
            }
            var fresh = result.Tars.Where(t => !t.Kept).ToList();
            var (rows, bytes) = (fresh.Sum(t => t.Rows), fresh.Sum(t => t.ImageBytes));
            log.WriteLine($"imported {result.Tars.Count:N0} tars into {options.OutDir} ({result.Kept:N0} kept from an earlier import): {result.Rows:N0} rows ({result.LabelledRows:N0} with a label), "
                + $"{result.ImageBytes / 1e6:N1} MB of images; skipped {result.Skipped:N0}: {Shared.Manifest.SkipCounts.Describe(result.SkippedByReason)}");
            log.WriteLine($"this run: {fresh.Count:N0} tars, {rows:N0} rows, {bytes / 1e6:N1} MB of images in {seconds:F1} s "
                + $"({rows / Math.Max(seconds, 1e-3):N0} rows/s, {progress.TotalBytes / 1e6 / Math.Max(seconds, 1e-3):N1} MB/s of tars)");
        }));
        return command;
    }

    /// <summary>A progress bar over the tar bytes to read (a line now and then when the output is not a terminal).</summary>
    private static Task ShowProgressAsync(Task import, WebDatasetImportProgress progress, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        return console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask("reading tars", autoStart: true, maxValue: 1);
                while (true)
                {
                    bar.MaxValue = Math.Max(1, progress.TotalBytes);
                    bar.Value = Math.Min(progress.BytesRead, bar.MaxValue);
                    bar.Description = $"{progress.TarsDone}/{progress.TotalTars} tars, {progress.Rows:N0} rows ({progress.LabelledRows:N0} labelled)";
                    if (import.IsCompleted)
                    {
                        bar.Value = bar.MaxValue;
                        break;
                    }
                    await Task.WhenAny(import, Task.Delay(250));
                }
            });
    }
}
