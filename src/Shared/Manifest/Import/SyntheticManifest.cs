namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Writes synthetic manifests fast enough for the 400M-row planning benchmark: keys <c>synth-{row:D10}</c>, captions from a
/// handful of class names (dictionary-encoded, nearly free), and optionally a few distinct 28x28 PNGs cycled over the rows.
/// Files (<c>synth-NNNNN.parquet</c>) are written in parallel, each by its own writer.
/// </summary>
public static class SyntheticManifest
{
    private static readonly string[] Captions = ClassNames.FashionMnist.Select(c => CaptionTemplates.Render(CaptionTemplates.Training[0], c)).ToArray();

    public static async Task<long> WriteAsync(SyntheticManifestOptions options, IProgress<long>? filesDone = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Files);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.RowGroupsPerFile);
        if (options.Files > options.Rows)
        {
            throw new ArgumentException($"{options.Files} files for {options.Rows} rows: every file needs a row", nameof(options));
        }
        Directory.CreateDirectory(options.OutDir);
        var images = options.Images ? MakeImages(16) : null;
        var done = 0L;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Files), parallel, async (file, ct) =>
        {
            // Rows split as evenly as possible: the first (Rows % Files) files get one extra row.
            var baseRows = options.Rows / options.Files;
            var extra = options.Rows % options.Files;
            var rows = baseRows + (file < extra ? 1 : 0);
            var firstRow = file * baseRows + Math.Min(file, extra);
            var writerOptions = new ParquetManifestWriterOptions
            {
                RowsPerFile = rows,
                RowsPerGroup = (int)Math.Min(int.MaxValue, (rows + options.RowGroupsPerFile - 1) / options.RowGroupsPerFile),
                FilePrefix = "synth",
                FirstFileIndex = file,
                HasLabel = true,
            };
            await using var writer = new ParquetManifestWriter(options.OutDir, writerOptions);
            for (var row = firstRow; row < firstRow + rows; row++)
            {
                var label = (int)(row % Captions.Length);
                var image = images is null ? [] : images[row % images.Length];
                await writer.AddAsync(new ManifestRow($"synth-{row:D10}", Captions[label], image, label), ct);
            }
            await writer.CompleteAsync(ct);
            filesDone?.Report(Interlocked.Increment(ref done));
        });
        return options.Rows;
    }

    private static byte[][] MakeImages(int count)
    {
        var pixels = new byte[28 * 28];
        return Enumerable.Range(0, count).Select(k =>
        {
            for (var i = 0; i < pixels.Length; i++)
            {
                pixels[i] = (byte)((i % 28 * (k + 1) + i / 28 * 7) & 0xFF);
            }
            return GrayPng.Encode(pixels, 28, 28);
        }).ToArray();
    }
}
