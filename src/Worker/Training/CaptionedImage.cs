namespace MmCluster.Worker.Training;

/// <summary>
/// One manifest row as the data pipeline sees it: key, caption, encoded image (PNG or JPEG) and an optional class label.
/// The manifest reader's rows are adapted to this at the boundary.
/// </summary>
public sealed record CaptionedImage(string Key, string Caption, ReadOnlyMemory<byte> Image, int Label = -1);
