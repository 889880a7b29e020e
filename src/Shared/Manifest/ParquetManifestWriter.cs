using Parquet;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// Writes a manifest folder: buffers rows, writes a row group every <see cref="ParquetManifestWriterOptions.RowsPerGroup"/>
/// rows and starts a new file every <see cref="ParquetManifestWriterOptions.RowsPerFile"/> rows. A file whose rows share one
/// split records it in the footer's key-value metadata, so the planner can filter by split from footers alone.
/// Dispose (or <see cref="CompleteAsync"/>) to flush the last row group and close the last file. A key this writer has
/// already written is refused (keys are unique; empty keys are left to the reader's row checks): the writer keeps every key it wrote, about 100 bytes a row (100 MB for
/// a million rows), until it is disposed.
/// </summary>
public sealed class ParquetManifestWriter : IAsyncDisposable
{
    private readonly string _folder;
    private readonly ParquetManifestWriterOptions _options;
    private readonly List<string> _keys = [];
    private readonly List<string> _captions = [];
    private readonly List<byte[]> _images = [];
    private readonly List<string> _imagePaths = [];
    private readonly List<int?> _labels = [];
    private readonly List<string> _splits = [];
    private readonly List<string?> _conversations = [];
    private readonly List<string> _files = [];
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _footer = new(StringComparer.Ordinal);
    private FileStream? _stream;
    private ParquetWriter? _writer;
    private long _rowsInFile;
    private string? _fileSplit;
    private bool _fileSplitMixed;
    private bool _completed;

    public ParquetManifestWriter(string folder, ParquetManifestWriterOptions options)
    {
        options.Validate();
        _folder = folder;
        _options = options;
        Schema = new ManifestSchema(options.Storage, options.HasLabel, options.HasSplit, options.HasConversation);
        Directory.CreateDirectory(folder);
    }

    public ManifestSchema Schema { get; }

    /// <summary>Creates <paramref name="folder"/> if needed and deletes the <c>{prefix}-*.parquet</c> files an earlier import left there, so a re-import replaces them.</summary>
    public static void ReplaceFiles(string folder, string prefix)
    {
        Directory.CreateDirectory(folder);
        foreach (var stale in Directory.EnumerateFiles(folder, $"{prefix}-*.parquet"))
        {
            File.Delete(stale);
        }
    }

    /// <summary>Full paths of the files written so far (the current one included).</summary>
    public IReadOnlyList<string> Files => _files;

    public long RowsWritten { get; private set; }

    /// <summary>Key-value metadata for the footer of every file closed from now on (e.g. where the rows came from).</summary>
    public void SetFooterMetadata(string key, string value) => _footer[key] = value;

    /// <summary>Buffers one row; writes a row group (and rolls the file) when the buffer is full.</summary>
    public ValueTask AddAsync(ManifestRow row, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (!string.IsNullOrEmpty(row.Key) && !_written.Add(row.Key))
        {
            throw new ManifestException(
                $"key '{row.Key}' was already written by this import (row {RowsWritten + _keys.Count} repeats it); keys are unique", _folder);
        }
        _keys.Add(row.Key);
        _captions.Add(row.Caption);
        if (_options.Storage == ManifestImageStorage.Embedded)
        {
            _images.Add(row.Image);
        }
        else
        {
            _imagePaths.Add(row.ImagePath ?? throw new ArgumentException($"row '{row.Key}' has no image path for a by-path manifest", nameof(row)));
        }
        _labels.Add(row.Label);
        _splits.Add(row.Split!);
        _conversations.Add(row.Conversation?.ToJson());
        var groupTarget = (int)Math.Min(_options.RowsPerGroup, RowsPerFile - _rowsInFile);
        return _keys.Count >= groupTarget ? new ValueTask(FlushRowGroupAsync(cancellationToken)) : ValueTask.CompletedTask;
    }

    /// <summary>Writes what is buffered and closes the current file.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (_completed)
        {
            return;
        }
        if (_keys.Count > 0)
        {
            await FlushRowGroupAsync(cancellationToken);
        }
        if (_options.FileName is not null && _files.Count == 0)
        {
            await OpenFileAsync(cancellationToken);   // the one named file exists even without rows
        }
        await CloseFileAsync();
        _written.Clear();
        _completed = true;
    }

    public async ValueTask DisposeAsync() => await CompleteAsync();

    private async Task FlushRowGroupAsync(CancellationToken cancellationToken)
    {
        if (_writer is null)
        {
            await OpenFileAsync(cancellationToken);
        }
        TrackFileSplit();
        using (var group = _writer!.CreateRowGroup())
        {
            await group.WriteAsync(Schema.KeyField, _keys);
            await group.WriteAsync(Schema.CaptionField, _captions);
            if (_options.Storage == ManifestImageStorage.Embedded)
            {
                await group.WriteAsync(Schema.ImageField, _images);
            }
            else
            {
                await group.WriteAsync(Schema.ImagePathField, _imagePaths);
            }
            if (_options.HasLabel)
            {
                await group.WriteAsync<int>(Schema.LabelField, _labels.ToArray().AsMemory(), cancellationToken: cancellationToken);
            }
            if (_options.HasSplit)
            {
                await group.WriteAsync(Schema.SplitField, _splits);
            }
            if (_options.HasConversation)
            {
                await group.WriteAsync(Schema.ConversationField, _conversations);
            }
        }
        RowsWritten += _keys.Count;
        _rowsInFile += _keys.Count;
        _keys.Clear();
        _captions.Clear();
        _images.Clear();
        _imagePaths.Clear();
        _labels.Clear();
        _splits.Clear();
        _conversations.Clear();
        if (_rowsInFile >= RowsPerFile)
        {
            await CloseFileAsync();
        }
    }

    private long RowsPerFile => _options.FileName is null ? _options.RowsPerFile : long.MaxValue;

    private void TrackFileSplit()
    {
        foreach (var split in _splits)
        {
            if (_fileSplit is null && !_fileSplitMixed)
            {
                _fileSplit = split;
                _fileSplitMixed = split is null;
            }
            else if (!string.Equals(_fileSplit, split, StringComparison.Ordinal))
            {
                _fileSplitMixed = true;
            }
        }
    }

    private async Task OpenFileAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(_folder, _options.FileName ?? $"{_options.FilePrefix}-{_options.FirstFileIndex + _files.Count:D5}.parquet");
        _stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _writer = await ParquetWriter.CreateAsync(Schema.Parquet, _stream, cancellationToken: cancellationToken);
        _files.Add(path);
        _rowsInFile = 0;
        _fileSplit = null;
        _fileSplitMixed = false;
    }

    private async Task CloseFileAsync()
    {
        if (_writer is null)
        {
            return;
        }
        var metadata = new Dictionary<string, string>(_footer, StringComparer.Ordinal);
        if (_options.HasSplit && !_fileSplitMixed && _fileSplit is not null)
        {
            metadata[ManifestSchema.SplitMetadataKey] = _fileSplit;
        }
        if (metadata.Count > 0)
        {
            _writer.CustomMetadata = metadata;
        }
        await _writer.DisposeAsync();
        await _stream!.DisposeAsync();
        _writer = null;
        _stream = null;
        _rowsInFile = 0;
    }
}
