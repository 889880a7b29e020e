namespace MmCluster.Worker.Training.Photos;

/// <summary>Which of OpenCLIP's transforms a photo gets: the evaluation centre crop, or the training random-resized-crop drawn from <see cref="Seed"/>.</summary>
public readonly record struct PhotoCrop(bool Random, ulong Seed)
{
    public static PhotoCrop Center { get; } = new(false, 0);

    public static PhotoCrop Training(ulong seed) => new(true, seed);

    /// <summary>This crop's box in a width x height image resized to size x size.</summary>
    public SourceBox BoxIn(int width, int height, int size) =>
        Random ? PhotoTransform.RandomResizedCrop(width, height, Seed) : PhotoTransform.CenterCrop(width, height, size);
}
