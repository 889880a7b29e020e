using Parquet;
using Parquet.Schema;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>img2dataset's parquet output, written with Parquet.Net: key, jpg (null where the download failed), txt, url, width, height.</summary>
internal static class Img2DatasetParquet
{
    /// <param name="captions">Each row's caption; default "a photo numbered KEY".</param>
    /// <param name="classes">When given, a nullable int64 <c>cls</c> column (pandas' integers) with each row's class.</param>
    public static async Task WriteAsync(string path, string[] keys, byte[]?[] images, string[]? captions = null, int width = 48, int height = 32, long?[]? classes = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        DataField[] fields =
        [
            new DataField<string>("key"), new DataField<byte[]>("jpg"), new DataField<string>("txt"), new DataField<string>("url"),
            new DataField<int>("width"), new DataField<int>("height"), .. classes is null ? Array.Empty<DataField>() : [new DataField<long?>("cls")],
        ];
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
        using var group = writer.CreateRowGroup();
        await group.WriteAsync(fields[0], keys);
        await group.WriteAsync(fields[1], images);
        await group.WriteAsync(fields[2], captions ?? keys.Select(k => $"a photo numbered {k}").ToArray());
        await group.WriteAsync(fields[3], keys.Select(k => $"https://example.com/{k}.jpg").ToArray());
        await group.WriteAsync<int>(fields[4], keys.Select(_ => width).ToArray().AsMemory());
        await group.WriteAsync<int>(fields[5], keys.Select(_ => height).ToArray().AsMemory());
        if (classes is not null)
        {
            await group.WriteAsync<long>(fields[6], classes.AsMemory());
        }
    }
}
