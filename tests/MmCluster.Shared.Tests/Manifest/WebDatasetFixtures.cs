using System.Formats.Tar;
using System.Text;
using SkiaSharp;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>Webdataset tars as img2dataset writes them (KEY.jpg, KEY.txt, KEY.json per sample), with real encoded images.</summary>
internal static class WebDatasetFixtures
{
    /// <summary>A <paramref name="width"/> x <paramref name="height"/> colour gradient that differs per seed, encoded as <paramref name="format"/>.</summary>
    public static byte[] Image(int seed, SKEncodedImageFormat format = SKEncodedImageFormat.Jpeg, int width = 48, int height = 32)
    {
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 5 + seed * 37), (byte)(y * 7 + seed * 11), (byte)(seed * 53 + x + y)));
            }
        }
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    public static (string Name, byte[] Data) Text(string name, string text) => (name, Encoding.UTF8.GetBytes(text));

    /// <summary>The members of one good sample: image, caption and img2dataset's metadata JSON.</summary>
    public static IEnumerable<(string Name, byte[] Data)> Sample(string key, byte[] image, string extension = "jpg") =>
    [
        ($"{key}.{extension}", image),
        Text($"{key}.txt", $"a photo numbered {key}"),
        Text($"{key}.json", $$"""{"key": "{{key}}", "url": "https://example.com/{{key}}.jpg", "status": "success", "width": 48, "height": 32}"""),
    ];

    public static void WriteTar(string path, IEnumerable<(string Name, byte[] Data)> members)
    {
        using var file = File.Create(path);
        using var writer = new TarWriter(file, TarEntryFormat.Pax);
        foreach (var (name, data) in members)
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        }
    }

    /// <summary>A tar of <paramref name="samples"/> good samples with keys <c>{shard:D5}{i:D4}</c> (img2dataset's), returning the images by key.</summary>
    public static Dictionary<string, byte[]> WriteGoodTar(string path, int shard, int samples)
    {
        var images = new Dictionary<string, byte[]>();
        var members = new List<(string, byte[])>();
        for (var i = 0; i < samples; i++)
        {
            var key = $"{shard:D5}{i:D4}";
            images[key] = Image(shard * 100 + i);
            members.AddRange(Sample(key, images[key]));
        }
        WriteTar(path, members);
        return images;
    }
}
