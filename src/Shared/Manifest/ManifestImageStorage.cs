namespace MmCluster.Shared.Manifest;

/// <summary>Where a manifest keeps its images: inline bytes in an <c>image</c> column, or paths in an <c>image_path</c> column.</summary>
public enum ManifestImageStorage
{
    Embedded,
    ByPath,
}
