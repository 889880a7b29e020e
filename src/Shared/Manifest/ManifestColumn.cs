namespace MmCluster.Shared.Manifest;

/// <summary>A column of the manifest schema as found in the footers: name, type (<c>string</c>, <c>binary</c>, <c>int32</c>, ...) and nullability.</summary>
public sealed record ManifestColumn(string Name, string Type, bool Nullable);
