namespace MmCluster.Shared.Manifest.Import;

/// <summary>Why <see cref="WebDatasetImporter"/> left a sample (or a member) of a webdataset tar out of the manifest.</summary>
public enum WebDatasetSkipReason
{
    /// <summary>The tar ends or breaks inside a member or header: the sample being read there is dropped, the rows before it are kept, the rest of the tar is not read.</summary>
    TruncatedTar,

    /// <summary>The image member does not decode completely, or claims more pixels than the budget (<see cref="ImageCheck"/>).</summary>
    ImageUndecodable,

    /// <summary>The image member is larger than <see cref="ManifestReadLimits.MaxImageBytes"/> (never read).</summary>
    ImageTooLarge,

    /// <summary>A key with an image but no <c>KEY.txt</c>, or a blank one.</summary>
    MissingCaption,

    /// <summary>A key with no <c>.jpg</c>/<c>.jpeg</c>/<c>.png</c>/<c>.webp</c> member (a caption or metadata without an image).</summary>
    MissingImage,

    /// <summary>A key that an earlier sample of the same tar had (members of a sample are consecutive; the first sample is kept), or a second image or caption in one sample.</summary>
    DuplicateKey,

    /// <summary>A member whose extension is none of the above (nor <c>.cls</c> or <c>.json</c>), or whose name has no extension.</summary>
    UnknownMember,

    /// <summary>
    /// A <c>KEY.cls</c> that is not a non-negative integer (webdataset's class id as text). Only the label is lost: the
    /// sample's image-caption pair is still imported, without a label. Also counted in the skipped members.
    /// </summary>
    BadLabel,
}
