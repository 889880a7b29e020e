namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Live counters of a <see cref="WebDatasetImporter"/> run, safe to read from another thread (a progress bar polls them):
/// the tar bytes to read and read so far, rows written (and how many carry a label), tars finished.
/// </summary>
public sealed class WebDatasetImportProgress
{
    private long _bytesRead;
    private long _rows;
    private long _labelledRows;
    private int _tarsDone;

    /// <summary>Bytes of the tars this run imports (tars kept from an earlier run not counted); set before the first tar starts.</summary>
    public long TotalBytes { get; internal set; }

    /// <summary>Tars this run imports.</summary>
    public int TotalTars { get; internal set; }

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long Rows => Interlocked.Read(ref _rows);

    /// <summary>Rows written with a label (a valid <c>KEY.cls</c>).</summary>
    public long LabelledRows => Interlocked.Read(ref _labelledRows);

    public int TarsDone => Volatile.Read(ref _tarsDone);

    /// <summary>Hears of each tar once its file is complete (on the tar's own thread).</summary>
    public Action<WebDatasetTarResult>? OnTarDone { get; init; }

    internal void Read(long bytes) => Interlocked.Add(ref _bytesRead, bytes);

    internal void Wrote(bool labelled)
    {
        Interlocked.Increment(ref _rows);
        if (labelled)
        {
            Interlocked.Increment(ref _labelledRows);
        }
    }

    internal void Done(WebDatasetTarResult tar)
    {
        Interlocked.Increment(ref _tarsDone);
        OnTarDone?.Invoke(tar);
    }
}
