using System.Text.Json;

namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Imports img2dataset's webdataset output (tars of <c>KEY.jpg|.jpeg|.png|.webp</c>, <c>KEY.txt</c>, <c>KEY.json</c>, and
/// webdataset's classification member <c>KEY.cls</c>, the class id as text, into the <c>label</c> column)
/// as a manifest: one Parquet file per tar (<c>00042.tar</c> -> <c>00042.parquet</c>), several tars at once, each
/// streamed (<see cref="WebDatasetTarImport"/>) and written under a temporary name (<c>.partial</c>) that is renamed
/// when the file is complete. Resumable: a tar whose file is complete is not read again (its counts come from the
/// footer), and the partial files of an interrupted run are deleted and their tars imported again. Bad samples are
/// counted and named (<see cref="WebDatasetSkip"/>), never fatal; only a pattern that matches nothing, or two tars
/// that would write the same file, stop the import before it starts.
/// </summary>
public static class WebDatasetImporter
{
    internal const string PartialSuffix = ".partial";
    internal const string SourceMetadataKey = "mmcluster.webdataset.source";
    internal const string ImageBytesMetadataKey = "mmcluster.webdataset.image_bytes";
    internal const string SkippedMetadataKey = "mmcluster.webdataset.skipped";

    public static async Task<WebDatasetImportResult> ImportAsync(
        WebDatasetImportOptions options, WebDatasetImportProgress? progress = null, Action<WebDatasetSkip>? onSkip = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Threads, 1, nameof(options.Threads));
        var tars = ShardPattern.Expand(options.Shards);
        var files = OutputNames(tars);
        Directory.CreateDirectory(options.OutDir);
        var partials = Directory.GetFiles(options.OutDir, "*.parquet" + PartialSuffix);
        foreach (var partial in partials)
        {
            File.Delete(partial);
        }
        var results = new WebDatasetTarResult?[tars.Count];
        var todo = new List<int>();
        for (var i = 0; i < tars.Count; i++)
        {
            results[i] = await KeptAsync(tars[i], Path.Combine(options.OutDir, files[i]), cancellationToken);
            if (results[i] is null)
            {
                todo.Add(i);
            }
        }
        progress ??= new WebDatasetImportProgress();
        progress.TotalBytes = todo.Sum(i => new FileInfo(tars[i]).Length);
        progress.TotalTars = todo.Count;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Threads, CancellationToken = cancellationToken };
        var report = onSkip is null ? (Action<WebDatasetSkip>)(_ => { }) : skip =>
        {
            lock (onSkip)
            {
                onSkip(skip);
            }
        };
        await Parallel.ForEachAsync(todo, parallel, async (i, ct) =>
        {
            results[i] = await WebDatasetTarImport.ImportAsync(tars[i], options.OutDir, files[i], options, progress, report, ct);
            progress.Done(results[i]!);
        });
        return new WebDatasetImportResult(results.Select(r => r!).ToList(), partials.Length);
    }

    /// <summary>The counts a finished file's footer keeps, for the summary of a resumed import.</summary>
    internal static IReadOnlyDictionary<string, string> FooterMetadata(string tar, long imageBytes, IReadOnlyDictionary<string, long> skipped) =>
        new Dictionary<string, string>
        {
            [SourceMetadataKey] = Path.GetFileName(tar),
            [ImageBytesMetadataKey] = imageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SkippedMetadataKey] = JsonSerializer.Serialize(skipped),
        };

    /// <summary><c>NAME.tar</c> -> <c>NAME.parquet</c>; two tars with one name (from two folders) would overwrite each other, so they are refused.</summary>
    private static IReadOnlyList<string> OutputNames(IReadOnlyList<string> tars)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var tar in tars)
        {
            var name = Path.GetFileNameWithoutExtension(tar) + ".parquet";
            if (!names.TryAdd(name, tar))
            {
                throw new ManifestException($"would write {name} like {names[name]}; give the tars distinct names or import them into separate folders", tar);
            }
        }
        return [.. names.Keys];
    }

    /// <summary>
    /// The result of a tar whose file an earlier run finished; null when it must be imported (no file, or one whose footer
    /// does not read: an import renames a file only once it is complete, so that is damage after the fact). A readable
    /// file that import-webdataset did not write from this tar is refused rather than overwritten or taken as done.
    /// </summary>
    private static async Task<WebDatasetTarResult?> KeptAsync(string tar, string file, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            return null;
        }
        Parquet.ParquetReader reader;
        try
        {
            reader = await ParquetManifestReader.OpenAsync(file, cancellationToken);
        }
        catch (ManifestException)
        {
            File.Delete(file);
            return null;
        }
        await using (reader)
        {
            var footer = reader.CustomMetadata;
            if (!footer.TryGetValue(SourceMetadataKey, out var source) || source != Path.GetFileName(tar))
            {
                throw new ManifestException(
                    $"was not written by import-webdataset from {Path.GetFileName(tar)} (its footer names {source ?? "no tar"}); import into another --out folder, or delete the file",
                    file);
            }
            var rows = reader.Metadata!.RowGroups.Sum(g => g.NumRows);
            var bytes = footer.TryGetValue(ImageBytesMetadataKey, out var b) ? long.Parse(b, System.Globalization.CultureInfo.InvariantCulture) : 0;
            var skipped = footer.TryGetValue(SkippedMetadataKey, out var s) ? JsonSerializer.Deserialize<Dictionary<string, long>>(s) : null;
            var labelled = ParquetManifestReader.NonNullRows(reader, ManifestSchema.Label) ?? 0;
            return new WebDatasetTarResult(tar, file, rows, bytes, SkipCounts.From(skipped), Kept: true) { LabelledRows = labelled };
        }
    }
}
