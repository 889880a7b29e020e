namespace MmCluster.Shared.Manifest;

/// <summary>One row group as its file's footer describes it: rows and sizes, no data read.</summary>
/// <param name="Rows">Number of rows in the row group.</param>
/// <param name="CompressedBytes">Bytes on disk (sum of the column chunks' compressed sizes).</param>
/// <param name="UncompressedBytes">Bytes once decompressed, as the footer reports them.</param>
public sealed record RowGroupSummary(long Rows, long CompressedBytes, long UncompressedBytes);
