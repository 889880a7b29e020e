namespace MmCluster.Shared.Manifest;

/// <summary>
/// What <see cref="ParquetManifestReader"/> does when a file holds a key twice (the run spec's
/// <c>manifest.duplicate_keys</c>). Keys are unique in a manifest; a repeat is trained on twice per epoch unless found.
/// </summary>
public enum DuplicateKeyPolicy
{
    /// <summary>The file is refused: a <see cref="ManifestException"/> names it and its first duplicate keys with their rows.</summary>
    Refuse,

    /// <summary>The first row with a key is kept; later rows with it are skipped and counted (<see cref="RowSkipReason.DuplicateKey"/>).</summary>
    Skip,
}
