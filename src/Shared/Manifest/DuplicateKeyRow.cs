namespace MmCluster.Shared.Manifest;

/// <summary>A row whose key an earlier row of the manifest has (found by <see cref="ManifestVerifier"/>).</summary>
/// <param name="Key">The repeated key.</param>
/// <param name="File">The repeating row's file (relative to the manifest folder).</param>
/// <param name="RowGroup">Its row group.</param>
/// <param name="Row">Its row inside the file.</param>
/// <param name="FirstFile">The file of the first row with the key.</param>
/// <param name="FirstRow">That row, inside its file.</param>
public sealed record DuplicateKeyRow(string Key, string File, int RowGroup, long Row, string FirstFile, long FirstRow)
{
    /// <summary>Whether both rows are in one file (what a run's reader finds; repeats across files only a verify finds).</summary>
    public bool SameFile => File == FirstFile;

    public override string ToString() =>
        $"{File}, row group {RowGroup}, row {Row}: key '{Key}' repeats {(SameFile ? "" : $"{FirstFile}, ")}row {FirstRow}";
}
