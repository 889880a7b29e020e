using System.CommandLine;
using System.Diagnostics;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Spec;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster manifest import-idx | import-fashion-mnist | import-llava-json | import-webdataset | synth | inspect</c>: build and inspect image-text manifests
/// (folders of Parquet files). Bad input ends with a one-line error naming the file and exit code 1, and so does an
/// <c>inspect --verify</c> that finds what would make a run refuse the manifest.
/// </summary>
internal static class ManifestCommand
{
    public static Command Create()
    {
        var command = new Command("manifest", "Create and inspect image-text manifests (folders of Parquet files).");
        command.Add(ImportIdx());
        command.Add(ImportFashionMnist());
        command.Add(ImportLlavaJson());
        command.Add(ImportWebDatasetCommand.Create());
        command.Add(Synth());
        command.Add(Inspect());
        return command;
    }

    private static Command ImportIdx()
    {
        var images = new Option<string>("--images") { Description = "IDX image file (idx3-ubyte, gzipped or not).", Required = true };
        var labels = new Option<string>("--labels") { Description = "IDX label file (idx1-ubyte, gzipped or not).", Required = true };
        var output = OutOption();
        var classes = new Option<string>("--classes") { Description = "fashion-mnist, mnist, or a file with one class name per line.", DefaultValueFactory = _ => "fashion-mnist" };
        var split = new Option<string>("--split") { Description = "Split name (file prefix, split column and footer).", DefaultValueFactory = _ => "train" };
        var keyPrefix = new Option<string?>("--key-prefix") { Description = "Key prefix (default: fmnist, mnist or idx, from --classes)." };
        var rowsPerGroup = new Option<int>("--rows-per-group") { Description = "Rows per row group.", DefaultValueFactory = _ => 5_000 };
        var rowsPerFile = new Option<long>("--rows-per-file") { Description = "Rows per file.", DefaultValueFactory = _ => 20_000 };
        var command = new Command("import-idx", "Import an IDX image/label pair (MNIST family) as one split of a manifest.")
        {
            images, labels, output, classes, split, keyPrefix, rowsPerGroup, rowsPerFile,
        };
        command.SetAction((parse, ct) => Guard(parse, async () =>
        {
            var classSpec = parse.GetValue(classes)!;
            var options = new IdxImportOptions(parse.GetValue(images)!, parse.GetValue(labels)!, parse.GetValue(output)!)
            {
                ClassNames = ClassNames.Resolve(classSpec),
                Split = parse.GetValue(split)!,
                KeyPrefix = parse.GetValue(keyPrefix) ?? classSpec.ToLowerInvariant() switch { "fashion-mnist" => "fmnist", "mnist" => "mnist", _ => "idx" },
                RowsPerGroup = parse.GetValue(rowsPerGroup),
                RowsPerFile = parse.GetValue(rowsPerFile),
            };
            var watch = Stopwatch.StartNew();
            var rows = await IdxImporter.ImportAsync(options, ct);
            parse.InvocationConfiguration.Output.WriteLine($"imported {rows:N0} {options.Split} rows into {options.OutDir} in {watch.Elapsed.TotalSeconds:F1} s");
        }));
        return command;
    }

    private static Command ImportFashionMnist()
    {
        var output = OutOption();
        var dataset = new Option<string>("--dataset") { Description = "Folder with the four Fashion-MNIST IDX files.", DefaultValueFactory = _ => FashionMnist.DefaultDatasetDir };
        var instructions = new Option<bool>("--instructions")
        {
            Description = "Also write each row's conversation (category, yes-no and choice questions; held-out phrasings on test rows).",
        };
        var command = new Command("import-fashion-mnist", $"Import Fashion-MNIST (train + test) from {FashionMnist.DefaultDatasetDir}, installing {FashionMnist.DebianPackage} on Debian if missing.")
        {
            output, dataset, instructions,
        };
        command.SetAction((parse, ct) => Guard(parse, async () =>
        {
            var log = parse.InvocationConfiguration.Output;
            var summary = await FashionMnist.ImportAsync(parse.GetValue(output)!, parse.GetValue(dataset)!, log, parse.GetValue(instructions), ct);
            var conversations = summary.HasConversation ? $", {summary.ConversationRows:N0} with a conversation" : "";
            log.WriteLine($"{summary.Rows:N0} rows in {summary.Files.Count} files ({FormatSplits(summary)}){conversations}");
        }));
        return command;
    }

    private static Command ImportLlavaJson()
    {
        const int shownSkips = 100;
        var json = new Option<string>("--json") { Description = "LLaVA's JSON: a list of {id, image, conversations: [{from, value}, ...]}.", Required = true };
        var images = new Option<string>("--images") { Description = "The folder the entries' image paths are relative to.", Required = true };
        var output = OutOption();
        var split = new Option<string?>("--split") { Description = "Split name for every row (split column, footer, file prefix)." };
        var rowsPerGroup = new Option<int>("--rows-per-group") { Description = "Rows per row group (images held in memory while a group is written).", DefaultValueFactory = _ => 500 };
        var rowsPerFile = new Option<long>("--rows-per-file") { Description = "Rows per file.", DefaultValueFactory = _ => 10_000 };
        var command = new Command("import-llava-json", "Import a LLaVA instruction file (JSON) and its images as a manifest with the conversation column.")
        {
            json, images, output, split, rowsPerGroup, rowsPerFile,
        };
        command.SetAction((parse, ct) => Guard(parse, async () =>
        {
            var log = parse.InvocationConfiguration.Output;
            var options = new LlavaJsonImportOptions(parse.GetValue(json)!, parse.GetValue(images)!, parse.GetValue(output)!)
            {
                Split = parse.GetValue(split),
                RowsPerGroup = parse.GetValue(rowsPerGroup),
                RowsPerFile = parse.GetValue(rowsPerFile),
            };
            var shown = 0;
            var watch = Stopwatch.StartNew();
            var result = await LlavaJsonImporter.ImportAsync(options, skip =>
            {
                if (shown++ < shownSkips)
                {
                    log.WriteLine($"  {skip}");
                }
            }, ct);
            if (shown > shownSkips)
            {
                log.WriteLine($"  ... and {shown - shownSkips:N0} more skipped entries");
            }
            log.WriteLine($"imported {result.RowsWritten:N0} of {result.Entries:N0} entries into {options.OutDir} ({result.Files.Count} files) in {watch.Elapsed.TotalSeconds:F1} s; "
                + $"skipped {result.Skipped:N0}: {result.DescribeSkips()}");
        }));
        return command;
    }

    private static Command Synth()
    {
        var rows = new Option<long>("--rows") { Description = "Total rows.", Required = true };
        var files = new Option<int>("--files") { Description = "Number of files.", Required = true };
        var groups = new Option<int>("--row-groups-per-file") { Description = "Row groups per file.", DefaultValueFactory = _ => 10 };
        var images = new Option<bool>("--images") { Description = "Embed small PNGs (otherwise the image column is empty)." };
        var parallel = new Option<int>("--parallel") { Description = "Files written at once.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var output = OutOption();
        var command = new Command("synth", "Write a synthetic manifest of any size (for scale tests).") { rows, files, groups, images, parallel, output };
        command.SetAction((parse, ct) => Guard(parse, async () =>
        {
            var options = new SyntheticManifestOptions(parse.GetValue(rows), parse.GetValue(files), parse.GetValue(output)!)
            {
                RowGroupsPerFile = parse.GetValue(groups),
                Images = parse.GetValue(images),
                Parallelism = parse.GetValue(parallel),
            };
            var log = parse.InvocationConfiguration.Output;
            var watch = Stopwatch.StartNew();
            var step = Math.Max(1, options.Files / 20);
            var progress = new Progress<long>(done =>
            {
                if (done % step == 0)
                {
                    log.WriteLine($"  {done}/{options.Files} files, {watch.Elapsed.TotalSeconds:F0} s");
                }
            });
            await SyntheticManifest.WriteAsync(options, progress, ct);
            var seconds = watch.Elapsed.TotalSeconds;
            log.WriteLine($"wrote {options.Rows:N0} rows in {options.Files} files to {options.OutDir} in {seconds:F1} s ({options.Rows / seconds / 1e6:F2} M rows/s)");
        }));
        return command;
    }

    private static Command Inspect()
    {
        var folder = new Argument<string>("dir") { Description = "The manifest folder." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (files, row_groups, rows, columns, bytes, splits; with --verify, verify)." };
        var listFiles = new Option<bool>("--list-files") { Description = "Also list every file with its row groups." };
        var verify = new Option<bool>("--verify") { Description = "Also read every row and check it as a run would (row checks, lying footers, repeated keys across the manifest)." };
        var imageRoot = new Option<string?>("--image-root") { Description = "With --verify: the run spec's manifest.image_root, for by-path images." };
        var duplicateKeys = new Option<DuplicateKeyPolicy>("--duplicate-keys")
        {
            Description = "With --verify: the run spec's manifest.duplicate_keys (refuse: repeated keys fail the verify).",
            DefaultValueFactory = _ => DuplicateKeyPolicy.Refuse,
        };
        var spec = new Option<string?>("--spec")
        {
            Description = "A run spec whose manifest.columns to read with and, with --verify, whose manifest.image_root, limits and duplicate_keys to check with (the options above win).",
        };
        var columns = new Option<string?>("--columns")
        {
            Description = "The files' names for the manifest columns, e.g. image=jpg,caption=txt,key=key (img2dataset's parquet); wins over --spec's manifest.columns.",
        };
        var command = new Command("inspect", "Describe a manifest from its Parquet footers; with --verify, read and check every row.")
        {
            folder, json, listFiles, verify, imageRoot, duplicateKeys, spec, columns,
        };
        command.SetAction((parse, ct) => Guard(parse, async () =>
        {
            var run = parse.GetValue(spec) is { } file ? RunSpecLoader.Load(file) : null;
            var mapping = parse.GetValue(columns) is { } text ? ManifestColumnMapping.Parse(text) : run?.Manifest?.ColumnMapping;
            var summary = await ParquetManifestReader.InspectAsync(parse.GetValue(folder)!, mapping, ct);
            var root = parse.GetValue(imageRoot) ?? (run?.Manifest?.ImageRoot is { } r ? run.ResolvePath(r) : null);
            var policy = parse.GetResult(duplicateKeys) is not { Implicit: false } && run?.Manifest is { } m ? m.DuplicateKeys : parse.GetValue(duplicateKeys);
            var verification = parse.GetValue(verify)
                ? await ManifestVerifier.VerifyAsync(summary.Folder, root, run?.Manifest?.Limits, cancellationToken: ct, columns: mapping)
                : null;
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                output.WriteLine(ManifestSummaryJson.Serialize(summary, parse.GetValue(listFiles), verification, policy));
            }
            else
            {
                PrintSummary(summary, parse.GetValue(listFiles), output);
                if (verification is not null)
                {
                    ManifestVerificationText.Print(verification, output);
                }
            }
            if (verification is null)
            {
                return 0;
            }
            var refuses = verification.RunRefuses(policy);
            if (refuses || !parse.GetValue(json))
            {
                (refuses ? parse.InvocationConfiguration.Error : output).WriteLine(ManifestVerificationText.Verdict(verification, policy));
            }
            return refuses ? 1 : 0;
        }));
        return command;
    }

    private static void PrintSummary(ManifestSummary summary, bool listFiles, TextWriter output)
    {
        output.WriteLine($"manifest   {summary.Folder}");
        output.WriteLine($"files      {summary.Files.Count:N0}");
        output.WriteLine($"row groups {summary.RowGroupCount:N0}");
        output.WriteLine($"rows       {summary.Rows:N0} ({FormatSplits(summary)})");
        output.WriteLine($"bytes      {summary.Bytes:N0}");
        output.WriteLine($"images     {(summary.Storage == ManifestImageStorage.Embedded ? "embedded" : "by path")}");
        output.WriteLine("columns    " + string.Join(", ", summary.Columns.Select(c => $"{c.Name}: {c.Type}{(c.Nullable ? "?" : "")}")));
        output.WriteLine($"mapping    {summary.Mapping}{(summary.Mapping.IsNone ? " (the manifest's own column names)" : " (manifest column: the files' column)")}");
        if (summary.HasLabel)
        {
            output.WriteLine($"labels     {(summary.LabelRows is { } labelled ? $"{labelled:N0} of {summary.Rows:N0} rows" : "column present (the footers keep no null counts)")} in {summary.Mapping.Describe(ManifestSchema.Label)}");
        }
        if (summary.HasConversation)
        {
            output.WriteLine($"conversations {(summary.ConversationRows is { } rows ? $"{rows:N0} of {summary.Rows:N0} rows" : "column present (the footers keep no null counts)")}");
        }
        if (listFiles)
        {
            foreach (var file in summary.Files)
            {
                output.WriteLine($"  {file.File}  {file.Split ?? "-"}  {file.Rows:N0} rows  {file.Bytes:N0} bytes  groups [{string.Join(", ", file.RowGroups.Select(g => g.Rows))}]");
            }
        }
    }

    internal static string FormatSplits(ManifestSummary summary) =>
        string.Join(", ", summary.RowsBySplit.Select(s => $"{(s.Key.Length == 0 ? "unsplit/mixed" : s.Key)}: {s.Value:N0}"));

    private static Option<string> OutOption() => new("--out") { Description = "Output manifest folder.", Required = true };

    /// <summary>Runs a command body; manifest and argument errors become one line on stderr and exit code 1.</summary>
    internal static Task<int> Guard(ParseResult parse, Func<Task> body) => Guard(parse, async () =>
    {
        await body();
        return 0;
    });

    /// <summary>Runs a command body that chooses its exit code; manifest and argument errors become one line on stderr and exit code 1.</summary>
    internal static async Task<int> Guard(ParseResult parse, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e) when (e is ManifestException or RunSpecException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
