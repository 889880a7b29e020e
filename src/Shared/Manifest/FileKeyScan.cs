using Parquet;
using Parquet.Schema;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// The rows of one Parquet file whose key an earlier row of the same file already has. Built once per file and reader
/// from the <c>key</c> column alone (every row group); it holds one dictionary entry per key of the file while it runs
/// (about 100 bytes a row: 10 MB for a 100,000-row file) and keeps only the repeats. Rows without a key are left to
/// <see cref="RowSkipReason.MissingKey"/>.
/// </summary>
internal sealed class FileKeyScan
{
    private const int Named = 5;
    private readonly Dictionary<long, long> _firstRowOf;

    private FileKeyScan(Dictionary<long, long> firstRowOf, IReadOnlyList<(string Key, long FirstRow, long Row)> repeats)
    {
        _firstRowOf = firstRowOf;
        Repeats = repeats;
    }

    /// <summary>Each later row with a key seen before in the file, with the row that had it first, in file order.</summary>
    public IReadOnlyList<(string Key, long FirstRow, long Row)> Repeats { get; }

    /// <summary>The earlier row of the file with this row's key, when this row repeats one.</summary>
    public long? FirstRowOf(long row) => _firstRowOf.TryGetValue(row, out var first) ? first : null;

    public static async Task<FileKeyScan> ScanAsync(ParquetReader reader, DataField key, string path, CancellationToken cancellationToken)
    {
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        var repeats = new List<(string Key, long FirstRow, long Row)>();
        var row = 0L;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            string?[] keys;
            try
            {
                var group = reader.OpenRowGroupReader(g);
                keys = new string?[checked((int)group.RowCount)];
                await group.ReadAsync(key, keys.AsMemory()!, cancellationToken: cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new ManifestException($"cannot read the key column ({e.GetType().Name}: {e.Message})", path, g, inner: e);
            }
            foreach (var k in keys)
            {
                if (!string.IsNullOrEmpty(k) && !seen.TryAdd(k, row))
                {
                    repeats.Add((k, seen[k], row));
                }
                row++;
            }
        }
        return new FileKeyScan(repeats.ToDictionary(r => r.Row, r => r.FirstRow), repeats);
    }

    /// <summary>Throws naming the file and its first repeated keys with their rows, when it has any.</summary>
    public void ThrowIfAny(string path)
    {
        if (Repeats.Count == 0)
        {
            return;
        }
        var named = string.Join(", ", Repeats.Take(Named).Select(r => $"'{r.Key}' at rows {r.FirstRow} and {r.Row}"));
        var more = Repeats.Count > Named ? $" and {Repeats.Count - Named} more" : "";
        throw new ManifestException(
            $"{Repeats.Count} rows repeat a key of an earlier row of this file (keys are unique): {named}{more}; " +
            "remove the repeats, or set 'manifest.duplicate_keys: skip' in the run spec to keep each key's first row and skip and count the rest",
            path);
    }
}
