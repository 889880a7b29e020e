namespace MmCluster.Shared.Manifest;

/// <summary>
/// One image-text pair of a manifest. Read from a shard by <see cref="ParquetManifestReader"/> (with <see cref="Image"/>
/// always holding the encoded bytes, loaded from <see cref="ImagePath"/> for by-path manifests), and written by
/// <see cref="ParquetManifestWriter"/> (which stores either <see cref="Image"/> or <see cref="ImagePath"/>, per its layout).
/// </summary>
/// <param name="Key">Unique key of the row.</param>
/// <param name="Caption">The text paired with the image.</param>
/// <param name="Image">Encoded PNG or JPEG bytes (empty when a by-path row is written).</param>
/// <param name="Label">Optional class index (for zero-shot evaluation).</param>
/// <param name="Split">Optional split name (<c>train</c>, <c>test</c>).</param>
/// <param name="ImagePath">For by-path manifests: the image file, relative to the manifest folder or absolute.</param>
public sealed record ManifestRow(string Key, string Caption, byte[] Image, int? Label = null, string? Split = null, string? ImagePath = null)
{
    /// <summary>The row's index in its Parquet file (set by the reader; a lease's cursor is the next one).</summary>
    public long FileRow { get; init; }

    /// <summary>
    /// The instruction conversation about the image, parsed from the optional <c>conversation</c> column (null when the
    /// file has no such column or the row's value is null). The reader parses it, so a consumer never sees malformed
    /// turns: a row whose JSON does not parse is skipped as <see cref="RowSkipReason.MalformedConversation"/>.
    /// </summary>
    public Conversation? Conversation { get; init; }
}
