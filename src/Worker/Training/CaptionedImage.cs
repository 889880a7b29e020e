using MmCluster.Shared.Manifest;

namespace MmCluster.Worker.Training;

/// <summary>
/// One manifest row as the data pipeline sees it: key, caption, encoded image (PNG or JPEG), an optional class label and
/// an optional instruction conversation. The manifest reader's rows are adapted to this at the boundary.
/// </summary>
public sealed record CaptionedImage(string Key, string Caption, ReadOnlyMemory<byte> Image, int Label = -1, Conversation? Conversation = null)
{
    /// <summary>The epoch the row is read in: with the key, it seeds the row's training crop (a new crop each epoch).</summary>
    public int Epoch { get; init; }
}
