namespace MmCluster.Worker.Training.Photos;

/// <summary>One encoded photo to load: its bytes, the row key named in errors, and its crop.</summary>
public sealed record PhotoSample(ReadOnlyMemory<byte> Encoded, string Key, PhotoCrop Crop);
