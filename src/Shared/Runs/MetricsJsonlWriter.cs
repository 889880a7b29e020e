using System.Text.Json;

namespace MmCluster.Shared.Runs;

/// <summary>
/// Appends one JSON object per line to a run's <c>metrics.jsonl</c> (time, wall_s, stage, step, epoch, losses, lr,
/// samples_per_s, step_ms, collective_ms, skipped (rows by reason) and eval for evaluation points), flushed after every line so a crash loses nothing already reported.
/// Thread-safe.
/// </summary>
public sealed class MetricsJsonlWriter : IDisposable
{
    private readonly object _gate = new();
    private readonly StreamWriter _writer;

    public MetricsJsonlWriter(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _writer = new StreamWriter(stream) { NewLine = "\n" };
    }

    public string Path { get; }

    public void Append(HistoryPoint point)
    {
        var line = JsonSerializer.Serialize(point, RunJson.Lines);
        lock (_gate)
        {
            _writer.WriteLine(line);
            _writer.Flush();
        }
    }

    /// <summary>Reads a metrics file back (for tests and for <c>mmcluster dev</c>'s final report).</summary>
    public static IReadOnlyList<HistoryPoint> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<HistoryPoint>(l, RunJson.Lines)!).ToList();

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
        }
    }
}
