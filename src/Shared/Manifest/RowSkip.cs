namespace MmCluster.Shared.Manifest;

/// <summary>
/// One row <see cref="ParquetManifestReader"/> skipped, naming where it is, so a user can find the bad input.
/// Delivered through <see cref="ManifestReadStats.OnSkip"/>; the worker's feed logs it.
/// </summary>
/// <param name="File">The Parquet file (as the shard names it, relative to the manifest folder).</param>
/// <param name="RowGroup">Row group inside the file.</param>
/// <param name="Row">Row index inside the file.</param>
/// <param name="Key">The row's key, when it has one.</param>
/// <param name="Reason">Why the row was skipped.</param>
/// <param name="Detail">What was found (a size, a decoder result, the path as written).</param>
public sealed record RowSkip(string File, int RowGroup, long Row, string? Key, RowSkipReason Reason, string Detail)
{
    public override string ToString() =>
        $"{File}, row group {RowGroup}, row {Row}{(string.IsNullOrEmpty(Key) ? "" : $" (key '{Key}')")}: skipped, {Reason}: {Detail}";
}
