using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// Reads a manifest folder (every <c>*.parquet</c> under it). <see cref="InspectAsync"/> reads footers only and scales to
/// thousands of files; <see cref="ReadShardAsync"/> streams one shard's rows, skipping and counting bad rows. Structural
/// problems (not Parquet, truncated, missing or mistyped columns, empty folder) throw <see cref="ManifestException"/>
/// naming the file, and the row group where it applies. A bad row is skipped and reported with its file, row group,
/// row and <see cref="RowSkipReason"/>; <see cref="ManifestReadLimits"/> bound the work one row may cost, and a by-path
/// image is read only from inside the manifest folder or the image root (<see cref="ManifestImageFiles"/>). Files stay open between shards (a few at a time) so that
/// consecutive shards of one file do not re-read and re-parse its footer; <see cref="DisposeAsync"/> closes them.
/// </summary>
public sealed class ParquetManifestReader : IAsyncDisposable
{
    private const int MaxIdleFiles = 4;
    private static readonly byte[] Magic = "PAR1"u8.ToArray();
    private static readonly EnumerationOptions ListingOptions = new()
    {
        RecurseSubdirectories = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System | FileAttributes.ReparsePoint,
    };
    private readonly string? _split;
    private readonly UnsplitRows _unsplit;
    private readonly ManifestColumnMapping _columns;
    private readonly ManifestImageFiles _images;
    private readonly Lock _idleLock = new();
    private readonly List<(string Path, ParquetReader Reader)> _idle = [];
    private readonly Dictionary<string, FileKeyScan> _keyScans = [];
    private bool _disposed;

    /// <param name="folder">The manifest folder.</param>
    /// <param name="split">When set, rows of other splits are skipped (and counted in <see cref="ManifestReadStats.FilteredBySplit"/>).</param>
    /// <param name="imageRoot">
    /// Folder that relative <c>image_path</c> values resolve against; default: the manifest folder. Images are read only
    /// from inside this folder or the manifest folder.
    /// </param>
    /// <param name="limits">Bounds per row; default <see cref="ManifestReadLimits.Default"/>.</param>
    /// <param name="duplicateKeys">
    /// What to do with a key an earlier row of the same file has; each file's keys are scanned once, when this reader
    /// first reads the file. Repeats across files are not looked for here (<see cref="ManifestVerifier"/> does).
    /// </param>
    /// <param name="columns">The files' names for the manifest columns (the spec's <c>manifest.columns</c>); default: their own names.</param>
    /// <param name="unsplit">The split of a row that has none (no split column); default: training ("train").</param>
    public ParquetManifestReader(
        string folder, string? split = null, string? imageRoot = null, ManifestReadLimits? limits = null,
        DuplicateKeyPolicy duplicateKeys = DuplicateKeyPolicy.Refuse, ManifestColumnMapping? columns = null, UnsplitRows? unsplit = null)
    {
        _unsplit = unsplit ?? UnsplitRows.Default;
        _columns = columns ?? ManifestColumnMapping.None;
        DuplicateKeys = duplicateKeys;
        Folder = Path.GetFullPath(folder);
        ImageRoot = imageRoot is null ? Folder : Path.GetFullPath(imageRoot);
        _split = split;
        Limits = (limits ?? ManifestReadLimits.Default).Validated();
        _images = new ManifestImageFiles(Folder, ImageRoot, Limits.MaxImageBytes);
    }

    public string Folder { get; }

    public string ImageRoot { get; }

    public ManifestReadLimits Limits { get; }

    public DuplicateKeyPolicy DuplicateKeys { get; }

    /// <summary>The files' names for the manifest columns.</summary>
    public ManifestColumnMapping Columns => _columns;

    /// <summary>Totals over every shard this reader has read.</summary>
    public ManifestReadStats Stats { get; } = new();

    /// <summary>
    /// Lists the manifest's Parquet files (relative, '/'-separated, ordinal order); throws when there are none. Symbolic
    /// links are not followed: a linked folder could lead outside the manifest, or back into it and list files twice.
    /// </summary>
    public static IReadOnlyList<string> ListFiles(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new ManifestException($"manifest folder does not exist", folder);
        }
        var files = Directory.EnumerateFiles(folder, "*.parquet", ListingOptions)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            throw new ManifestException("no .parquet files in the manifest folder", folder);
        }
        return files;
    }

    /// <summary>
    /// Reads every file's footer (never a data page): schema, row groups with rows and bytes, split metadata.
    /// Checks each file's schema and that all files store images the same way.
    /// </summary>
    public static Task<ManifestSummary> InspectAsync(string folder, CancellationToken cancellationToken = default) =>
        InspectAsync(folder, null, cancellationToken);

    /// <summary>
    /// <see cref="InspectAsync(string, CancellationToken)"/> for files whose columns have other names (the spec's
    /// <c>manifest.columns</c>): every file's footer is checked through <paramref name="columns"/>, so a missing or
    /// wrongly typed column is an error naming the file and column before anything reads a row.
    /// </summary>
    public static async Task<ManifestSummary> InspectAsync(string folder, ManifestColumnMapping? columns, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(folder);
        var files = ListFiles(full);
        var summaries = new ManifestFileSummary[files.Count];
        var schemas = new ManifestFileSchema[files.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), parallel, async (i, ct) =>
        {
            var path = Path.Combine(full, files[i]);
            await using var reader = await OpenAsync(path, ct);
            schemas[i] = ManifestFileSchema.From(reader.Schema, path, columns);
            summaries[i] = Summarize(files[i], new FileInfo(path).Length, reader, columns);
        });
        for (var i = 1; i < files.Count; i++)
        {
            if (schemas[i].Storage != schemas[0].Storage)
            {
                throw new ManifestException(
                    $"stores images {Describe(schemas[i].Storage)} but {files[0]} stores them {Describe(schemas[0].Storage)}; a manifest uses one layout",
                    Path.Combine(full, files[i]));
            }
        }
        return new ManifestSummary(full, schemas[0].Storage, schemas[0].Columns, summaries) { Mapping = columns ?? ManifestColumnMapping.None };
    }

    /// <summary>
    /// Streams the rows of one shard (a row-group range of one file). Rows with an empty caption, a missing key, or an
    /// image that is refused (<see cref="RowSkipReason"/>) are skipped and counted in <see cref="Stats"/> and in
    /// <paramref name="shardStats"/> when given (whose <see cref="ManifestReadStats.OnSkip"/> hears of each one).
    /// Captions longer than <see cref="ManifestReadLimits.MaxCaptionChars"/> are cut.
    /// </summary>
    public async IAsyncEnumerable<ManifestRow> ReadShardAsync(
        ShardSpec shard, ManifestReadStats? shardStats = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(Folder, shard.File);
        var reader = TakeIdle(path) ?? await OpenAsync(path, cancellationToken);
        var reusable = false;
        try
        {
            await foreach (var row in ReadShardAsync(reader, path, shard, shardStats, cancellationToken))
            {
                yield return row;
            }
            reusable = true;
        }
        finally
        {
            if (reusable)
            {
                await KeepIdleAsync(path, reader);
            }
            else
            {
                await reader.DisposeAsync();   // failed or abandoned half-way: never reuse
            }
        }
    }

    /// <summary>Closes the files kept open between shards.</summary>
    public async ValueTask DisposeAsync()
    {
        List<(string Path, ParquetReader Reader)> idle;
        lock (_idleLock)
        {
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }
        foreach (var (_, reader) in idle)
        {
            await reader.DisposeAsync();
        }
    }

    private ParquetReader? TakeIdle(string path)
    {
        lock (_idleLock)
        {
            var i = _idle.FindIndex(e => e.Path == path);
            if (i < 0)
            {
                return null;
            }
            var reader = _idle[i].Reader;
            _idle.RemoveAt(i);
            return reader;
        }
    }

    private async ValueTask KeepIdleAsync(string path, ParquetReader reader)
    {
        ParquetReader? evicted = reader;
        lock (_idleLock)
        {
            if (!_disposed)
            {
                _idle.Add((path, reader));
                evicted = null;
                if (_idle.Count > MaxIdleFiles)
                {
                    evicted = _idle[0].Reader;   // the least recently used
                    _idle.RemoveAt(0);
                }
            }
        }
        if (evicted is not null)
        {
            await evicted.DisposeAsync();
        }
    }

    private async IAsyncEnumerable<ManifestRow> ReadShardAsync(
        ParquetReader reader, string path, ShardSpec shard, ManifestReadStats? shardStats, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var schema = ManifestFileSchema.From(reader.Schema, path, _columns);
        if (shard.FirstRowGroup < 0 || shard.RowGroupCount < 1 || shard.FirstRowGroup + shard.RowGroupCount > reader.RowGroupCount)
        {
            throw new ManifestException(
                $"shard {shard.ShardId} asks for row groups {shard.FirstRowGroup}..{shard.FirstRowGroup + shard.RowGroupCount - 1} but the file has {reader.RowGroupCount}", path);
        }
        // Planning reads footers only: a file whose footer claims a split is planned whole into that split, so its rows
        // must all say the same, or the plan and the rows disagree (a whole epoch of "other split" rows, silently).
        var declared = reader.CustomMetadata.TryGetValue(ManifestSchema.SplitMetadataKey, out var footerSplit) && !string.IsNullOrEmpty(footerSplit)
            ? footerSplit
            : null;
        var keys = await KeyScanAsync(reader, schema, path, cancellationToken);
        var row = shard.FirstRow;
        for (var g = shard.FirstRowGroup; g < shard.FirstRowGroup + shard.RowGroupCount && row < shard.ReadEnd; g++)
        {
            var columns = await ReadRowGroupAsync(reader, schema, path, g, cancellationToken);
            for (var i = 0; i < columns.Rows && row < shard.ReadEnd; i++, row++)
            {
                if (row < shard.ReadStart)
                {
                    continue;   // handled by an earlier lease of this shard (continued after a recovery), or another piece's
                }
                if (declared is not null && columns.Splits?[i] is { } rowSplit && !string.Equals(rowSplit, declared, StringComparison.Ordinal))
                {
                    throw new ManifestException(
                        $"row group {g}, row {row} (key '{columns.Keys[i]}') says split '{rowSplit}' but the file's footer says '{declared}' " +
                        $"({ManifestSchema.SplitMetadataKey}); planning trusts the footer, so rewrite the file or its footer", path);
                }
                var (result, reason, detail) = Check(columns, i, schema.Storage, keys.FirstRowOf(row));
                if (result is not null)
                {
                    var truncated = result.Caption.Length < columns.Captions[i]!.Length;
                    Stats.Yielded(truncated, result.Conversation is not null);
                    shardStats?.Yielded(truncated, result.Conversation is not null);
                    yield return result with { FileRow = row };
                }
                else if (reason is null)
                {
                    Stats.Filtered();
                    shardStats?.Filtered();
                }
                else
                {
                    var skip = new RowSkip(shard.File, g, row, columns.Keys[i], reason.Value, detail);
                    Stats.Skip(skip);
                    shardStats?.Skip(skip);
                }
            }
        }
    }

    /// <summary>The file's repeated keys, scanned the first time this reader reads the file; throws when they are refused.</summary>
    private async Task<FileKeyScan> KeyScanAsync(ParquetReader reader, ManifestFileSchema schema, string path, CancellationToken cancellationToken)
    {
        FileKeyScan? scan;
        lock (_idleLock)
        {
            _keyScans.TryGetValue(path, out scan);
        }
        if (scan is null)
        {
            scan = await FileKeyScan.ScanAsync(reader, schema.Key, path, cancellationToken);
            lock (_idleLock)
            {
                _keyScans.TryAdd(path, scan);
            }
        }
        if (DuplicateKeys == DuplicateKeyPolicy.Refuse)
        {
            scan.ThrowIfAny(path);
        }
        return scan;
    }

    /// <summary>Opens a file after checking the Parquet magic at both ends, so "not Parquet" and "truncated" get clear errors.</summary>
    internal static async Task<ParquetReader> OpenAsync(string path, CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ManifestException($"cannot open: {e.Message}", path, inner: e);
        }
        try
        {
            await CheckMagicAsync(stream, path, cancellationToken);
            return await ParquetReader.CreateAsync(stream, leaveStreamOpen: false, cancellationToken: cancellationToken);
        }
        catch (ManifestException)
        {
            await stream.DisposeAsync();
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await stream.DisposeAsync();
            throw new ManifestException($"unreadable Parquet footer ({e.GetType().Name}: {e.Message})", path, inner: e);
        }
    }

    private static async Task CheckMagicAsync(FileStream stream, string path, CancellationToken cancellationToken)
    {
        var head = new byte[4];
        var tail = new byte[8];
        if (stream.Length < 12)
        {
            throw new ManifestException($"not a Parquet file: {stream.Length} bytes is too short", path);
        }
        await stream.ReadExactlyAsync(head, cancellationToken);
        if (!head.AsSpan().SequenceEqual(Magic))
        {
            throw new ManifestException("not a Parquet file (no PAR1 magic at the start)", path);
        }
        stream.Seek(-8, SeekOrigin.End);
        await stream.ReadExactlyAsync(tail, cancellationToken);
        if (!tail.AsSpan(4).SequenceEqual(Magic))
        {
            throw new ManifestException("truncated Parquet file (no PAR1 magic at the end: the footer is missing)", path);
        }
        var footerLength = BitConverter.ToInt32(tail, 0);
        if (footerLength <= 0 || footerLength > stream.Length - 12)
        {
            throw new ManifestException($"truncated or corrupt Parquet file (footer length {footerLength} does not fit in {stream.Length} bytes)", path);
        }
        stream.Seek(0, SeekOrigin.Begin);
    }

    private static ManifestFileSummary Summarize(string relative, long bytes, ParquetReader reader, ManifestColumnMapping? columns)
    {
        var groups = new RowGroupSummary[reader.RowGroupCount];
        for (var g = 0; g < groups.Length; g++)
        {
            var meta = reader.Metadata!.RowGroups[g];
            groups[g] = new RowGroupSummary(meta.NumRows, meta.TotalCompressedSize ?? SumCompressed(meta), meta.TotalByteSize);
        }
        reader.CustomMetadata.TryGetValue(ManifestSchema.SplitMetadataKey, out var split);
        return new ManifestFileSummary(relative, bytes, string.IsNullOrEmpty(split) ? null : split, groups)
        {
            ConversationRows = NonNullRows(reader, ManifestSchema.Conversation),
            LabelRows = NonNullRows(reader, (columns ?? ManifestColumnMapping.None)[ManifestSchema.Label]),
        };
    }

    /// <summary>
    /// Rows whose <paramref name="column"/> is not null, from the column chunks' null counts (no data page read): 0 when
    /// the file has no such column, null when its footer keeps no null counts.
    /// </summary>
    internal static long? NonNullRows(ParquetReader reader, string column)
    {
        if (!reader.Schema.GetDataFields().Any(f => f.Path.ToString() == column))
        {
            return 0;
        }
        var rows = 0L;
        foreach (var group in reader.Metadata!.RowGroups)
        {
            var chunk = group.Columns.FirstOrDefault(c => c.MetaData?.PathInSchema is [var name] && name == column);
            if (chunk?.MetaData?.Statistics?.NullCount is not { } nulls)
            {
                return null;
            }
            rows += group.NumRows - nulls;
        }
        return rows;
    }

    private static long SumCompressed(Parquet.Meta.RowGroup group) => group.Columns.Sum(c => c.MetaData?.TotalCompressedSize ?? 0);

    private static string Describe(ManifestImageStorage storage) =>
        storage == ManifestImageStorage.Embedded ? $"inline ('{ManifestSchema.Image}')" : $"by path ('{ManifestSchema.ImagePath}')";

    private static async Task<RowGroupColumns> ReadRowGroupAsync(ParquetReader reader, ManifestFileSchema schema, string path, int group, CancellationToken cancellationToken)
    {
        try
        {
            var rowGroup = reader.OpenRowGroupReader(group);
            var rows = checked((int)rowGroup.RowCount);
            var columns = new RowGroupColumns(rows)
            {
                Keys = await ReadStringsAsync(rowGroup, schema.Key, rows, cancellationToken),
                Captions = await ReadStringsAsync(rowGroup, schema.Caption, rows, cancellationToken),
            };
            if (schema.Storage == ManifestImageStorage.Embedded)
            {
                columns.Images = new byte[rows][];
                await rowGroup.ReadAsync(schema.Image, columns.Images.AsMemory(), cancellationToken: cancellationToken);
            }
            else
            {
                columns.ImagePaths = await ReadStringsAsync(rowGroup, schema.Image, rows, cancellationToken);
            }
            if (schema.Label is not null)
            {
                columns.Labels = await ReadLabelsAsync(rowGroup, schema.Label, rows, cancellationToken);
            }
            if (schema.Split is not null)
            {
                columns.Splits = await ReadStringsAsync(rowGroup, schema.Split, rows, cancellationToken);
            }
            if (schema.Conversation is not null)
            {
                columns.Conversations = await ReadStringsAsync(rowGroup, schema.Conversation, rows, cancellationToken);
            }
            if (schema.Url is not null)
            {
                columns.Urls = await ReadStringsAsync(rowGroup, schema.Url, rows, cancellationToken);
            }
            return columns;
        }
        catch (Exception e) when (e is not OperationCanceledException and not ManifestException)
        {
            throw new ManifestException($"cannot read row group ({e.GetType().Name}: {e.Message})", path, group, inner: e);
        }
    }

    private static async Task<string?[]> ReadStringsAsync(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        var values = new string?[rows];
        await rowGroup.ReadAsync(field, values.AsMemory()!, cancellationToken: cancellationToken);
        return values;
    }

    private static async Task<int?[]> ReadLabelsAsync(ParquetRowGroupReader rowGroup, DataField field, int rows, CancellationToken cancellationToken)
    {
        if (field.ClrType == typeof(long))
        {
            var wide = new long?[rows];
            await rowGroup.ReadAsync<long>(field, wide.AsMemory(), cancellationToken: cancellationToken);
            return wide.Select(v => v is null ? (int?)null : checked((int)v.Value)).ToArray();
        }
        var labels = new int?[rows];
        await rowGroup.ReadAsync<int>(field, labels.AsMemory(), cancellationToken: cancellationToken);
        return labels;
    }

    /// <returns>The row; or no row and no reason (another split); or no row with the reason it is skipped.</returns>
    private (ManifestRow? Row, RowSkipReason? Reason, string Detail) Check(RowGroupColumns columns, int i, ManifestImageStorage storage, long? keyFirstAt)
    {
        var split = columns.Splits?[i] ?? _unsplit.Assign(columns.Keys[i]);
        if (_split is not null && !string.Equals(split, _split, StringComparison.Ordinal))
        {
            return (null, null, "");
        }
        var key = columns.Keys[i];
        if (string.IsNullOrEmpty(key))
        {
            return (null, RowSkipReason.MissingKey, "no key");
        }
        if (keyFirstAt is { } first)
        {
            return (null, RowSkipReason.DuplicateKey, $"row {first} of this file has the same key (that row is kept)");
        }
        var caption = columns.Captions[i];
        if (string.IsNullOrWhiteSpace(caption))
        {
            return (null, RowSkipReason.EmptyCaption, caption is null ? "null caption" : $"caption of {caption.Length} blank characters");
        }
        Conversation? conversation = null;
        if (columns.Conversations?[i] is { } json)
        {
            try
            {
                conversation = Conversation.Parse(json);
            }
            catch (ConversationFormatException e)
            {
                return (null, RowSkipReason.MalformedConversation, e.Message);
            }
        }
        string? imagePath = null;
        byte[]? image;
        RowSkipReason reason;
        string detail;
        if (storage == ManifestImageStorage.Embedded)
        {
            image = columns.Images![i];
            (reason, detail) = image is null or { Length: 0 } ? (RowSkipReason.MissingImage, NoImageBytes(columns.Urls?[i]))
                : image.Length > Limits.MaxImageBytes ? (RowSkipReason.ImageTooLarge, $"{image.Length} bytes, over the limit of {Limits.MaxImageBytes}")
                : (default, "");
            image = detail.Length == 0 ? image : null;
        }
        else
        {
            imagePath = columns.ImagePaths![i];
            image = _images.Load(imagePath, out reason, out detail);
        }
        if (image is null)
        {
            return (null, reason, detail);
        }
        if (ImageCheck.Check(image, Limits.MaxImagePixels, out detail) is { } refused)
        {
            return (null, refused, detail);
        }
        caption = ManifestReadLimits.Truncate(caption, Limits.MaxCaptionChars);
        return (new ManifestRow(key, caption, image, columns.Labels?[i], split, imagePath) { Conversation = conversation }, null, "");
    }

    private static string NoImageBytes(string? url) => url is null
        ? "no image bytes"
        : $"no image bytes, only url '{url}': mmcluster does not download images (fetch them first, e.g. with img2dataset)";

    private sealed class RowGroupColumns(int rows)
    {
        public int Rows { get; } = rows;

        public string?[] Keys { get; init; } = [];

        public string?[] Captions { get; init; } = [];

        public byte[]?[]? Images { get; set; }

        public string?[]? ImagePaths { get; set; }

        public int?[]? Labels { get; set; }

        public string?[]? Splits { get; set; }

        public string?[]? Conversations { get; set; }

        public string?[]? Urls { get; set; }
    }
}
