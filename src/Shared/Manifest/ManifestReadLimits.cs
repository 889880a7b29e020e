namespace MmCluster.Shared.Manifest;

/// <summary>
/// Bounds on the work one row may cost a reader or a worker: no row can hang it or make it allocate without bound.
/// A row over a limit is skipped and counted (<see cref="RowSkipReason"/>); a long caption is cut, not skipped.
/// </summary>
public sealed record ManifestReadLimits
{
    public const long DefaultMaxImageBytes = 32L << 20;
    public const long DefaultMaxImagePixels = 40_000_000;
    public const int DefaultMaxCaptionChars = 1024;

    /// <summary>The largest <see cref="MaxImageBytes"/> a run spec may set (1 GiB: an image is read into one array).</summary>
    public const long CeilingMaxImageBytes = 1L << 30;

    /// <summary>The largest <see cref="MaxImagePixels"/> a run spec may set (16384², a 1 GiB RGBA bitmap when decoded).</summary>
    public const long CeilingMaxImagePixels = 1L << 28;

    /// <summary>The largest <see cref="MaxCaptionChars"/> a run spec may set (BPE on one long word is worse than linear).</summary>
    public const int CeilingMaxCaptionChars = 1 << 16;

    public static ManifestReadLimits Default { get; } = new();

    /// <summary>Largest encoded image, in bytes; a by-path file's size is checked before it is opened.</summary>
    public long MaxImageBytes { get; init; } = DefaultMaxImageBytes;

    /// <summary>Largest width·height an image's header may claim; checked before any pixel is decoded.</summary>
    public long MaxImagePixels { get; init; } = DefaultMaxImagePixels;

    /// <summary>Captions are cut to this many UTF-16 characters (never inside a surrogate pair) before tokenization.</summary>
    public int MaxCaptionChars { get; init; } = DefaultMaxCaptionChars;

    /// <summary>The caption's first <see cref="MaxCaptionChars"/> characters, not splitting a surrogate pair.</summary>
    public static string Truncate(string caption, int maxChars)
    {
        if (caption.Length <= maxChars)
        {
            return caption;
        }
        var end = maxChars > 0 && char.IsHighSurrogate(caption[maxChars - 1]) ? maxChars - 1 : maxChars;
        return caption[..end];
    }

    /// <summary>Throws naming the first limit that is not positive.</summary>
    public ManifestReadLimits Validated()
    {
        if (MaxImageBytes < 1 || MaxImagePixels < 1 || MaxCaptionChars < 1)
        {
            throw new ArgumentException($"manifest limits must be positive (max image bytes {MaxImageBytes}, max image pixels {MaxImagePixels}, max caption chars {MaxCaptionChars})");
        }
        return this;
    }
}
