using System.Buffers.Binary;
using System.IO.Compression;

namespace MmCluster.Worker.Demo;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017) read straight from its gzipped IDX files (Debian's dataset-fashion-mnist puts them in
/// /usr/share/datasets/fashion-mnist), with the caption templates of the demo: 8 for training and 3 held out for
/// zero-shot evaluation (never used in training).
/// </summary>
public sealed class FashionMnist
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";
    public const int Side = 28;
    public const int Pixels = Side * Side;

    public static IReadOnlyList<string> ClassNames { get; } =
        ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

    public static IReadOnlyList<string> TrainingTemplates { get; } =
    [
        "a photo of a {}.", "a picture of a {}.", "an image of a {}.", "a photo of the {}.",
        "a black and white photo of a {}.", "a low resolution photo of a {}.", "a cropped photo of a {}.", "a close-up photo of a {}.",
    ];

    public static IReadOnlyList<string> HeldOutTemplates { get; } = ["a blurry photo of a {}.", "a good photo of the {}.", "a rendering of a {}."];

    private FashionMnist(byte[] images, byte[] labels)
    {
        Images = images;
        Labels = labels;
    }

    /// <summary>Row-major 28x28 grayscale bytes, image after image.</summary>
    public byte[] Images { get; }

    public byte[] Labels { get; }

    public int Count => Labels.Length;

    /// <param name="split">"train" or "t10k".</param>
    public static FashionMnist Load(string directory, string split)
    {
        var images = ReadIdx(Path.Combine(directory, $"{split}-images-idx3-ubyte.gz"), 2051, 3);
        var labels = ReadIdx(Path.Combine(directory, $"{split}-labels-idx1-ubyte.gz"), 2049, 1);
        if (images.Length != labels.Length * Pixels)
        {
            throw new InvalidDataException($"{directory}/{split}: {images.Length} image bytes for {labels.Length} labels");
        }
        return new FashionMnist(images, labels);
    }

    /// <summary>Normalized pixels of image <paramref name="index"/>, as <c>ImageDecoder.FashionMnist</c> would produce them.</summary>
    public void WriteNormalized(int index, Span<float> destination, float mean = 0.2860f, float std = 0.3530f)
    {
        var source = Images.AsSpan(index * Pixels, Pixels);
        for (var i = 0; i < Pixels; i++)
        {
            destination[i] = ((source[i] / 255f) - mean) / std;
        }
    }

    private static byte[] ReadIdx(string path, int magic, int dimensions)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        gzip.CopyTo(buffer);
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var header = 4 + (4 * dimensions);
        if (bytes.Length < header || BinaryPrimitives.ReadInt32BigEndian(bytes) != magic)
        {
            throw new InvalidDataException($"{path}: not an IDX file with magic {magic}");
        }
        var count = 1L;
        for (var d = 0; d < dimensions; d++)
        {
            count *= BinaryPrimitives.ReadInt32BigEndian(bytes[(4 + (4 * d))..]);
        }
        if (bytes.Length - header != count)
        {
            throw new InvalidDataException($"{path}: header promises {count} bytes of data, file has {bytes.Length - header}");
        }
        return bytes[header..].ToArray();
    }
}
