namespace MmCluster.Shared.Manifest;

/// <summary>
/// Why <see cref="ParquetManifestReader"/> skipped a row. Each skip is counted per reason in
/// <see cref="ManifestReadStats"/> and reported as a <see cref="RowSkip"/> naming its file, row group and row.
/// </summary>
public enum RowSkipReason
{
    /// <summary>The key is null or empty.</summary>
    MissingKey,

    /// <summary>The caption is null, empty or only whitespace.</summary>
    EmptyCaption,

    /// <summary>No image bytes (embedded) or no <c>image_path</c> (by path).</summary>
    MissingImage,

    /// <summary>The <c>image_path</c> resolves (after <c>..</c>, absolute paths and symbolic links) outside the manifest folder and the image root; never opened.</summary>
    PathOutsideManifest,

    /// <summary>The path names a device, pipe, socket or directory; never opened.</summary>
    NotARegularFile,

    /// <summary>No file at the path (or a dangling symbolic link).</summary>
    ImageFileMissing,

    /// <summary>The file exists but cannot be read (permissions, I/O error, a symbolic link loop).</summary>
    ImageFileUnreadable,

    /// <summary>The encoded image is larger than <see cref="ManifestReadLimits.MaxImageBytes"/>; checked before reading.</summary>
    ImageTooLarge,

    /// <summary>The header claims more than <see cref="ManifestReadLimits.MaxImagePixels"/> pixels; checked before decoding.</summary>
    ImageTooManyPixels,

    /// <summary>Not an image SkiaSharp recognises, or its data is damaged or ends early (the decoder's result is not Success).</summary>
    ImageUndecodable,

    /// <summary>
    /// An earlier row of the same file has this key (with <see cref="DuplicateKeyPolicy.Skip"/>; the first row is kept).
    /// </summary>
    DuplicateKey,

    /// <summary>
    /// The <c>conversation</c> column holds JSON that is not a <see cref="Conversation"/> (not JSON, not a list of
    /// alternating user and assistant turns, a turn without text, a misplaced image placeholder); the detail is the parse error.
    /// </summary>
    MalformedConversation,
}
