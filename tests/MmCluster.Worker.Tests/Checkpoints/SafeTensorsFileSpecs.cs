using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MmCluster.Worker.Checkpoints;
using Xunit;

namespace MmCluster.Worker.Tests.Checkpoints;

/// <summary>
/// Python's safetensors is not installable here (no PyPI), so the format is checked by an independent parse of the
/// bytes: 8-byte little-endian length, JSON header, data ranges sorted, contiguous and covering the data exactly.
/// </summary>
public sealed class SafeTensorsFileSpecs : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("safetensors-specs").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static SafeTensorEntry F32(string name, long[] shape, params float[] values) =>
        new(name, "F32", shape, values.SelectMany(BitConverter.GetBytes).ToArray());

    private static readonly SafeTensorEntry[] Entries =
    [
        F32("b.weight", [2, 3], 1, 2, 3, 4, 5, 6),
        new("a.step", "I64", [], BitConverter.GetBytes(42L)),
        F32("c.bias", [3], -1, 0.5f, 7),
        new("rng", "U8", [5], [9, 8, 7, 6, 5]),
    ];

    [Fact]
    public void Should_read_back_every_tensor_and_the_metadata_when_written()
    {
        var path = Path.Combine(directory, "x.safetensors");
        SafeTensorsFile.Write(path, Entries, new Dictionary<string, string> { ["step"] = "42", ["ledger"] = "{\"epoch\":1}" });

        var (tensors, metadata) = SafeTensorsFile.Read(path);

        Assert.Equal(Entries.Select(e => e.Name).Order(StringComparer.Ordinal), tensors.Select(t => t.Name));
        foreach (var expected in Entries)
        {
            var actual = tensors.Single(t => t.Name == expected.Name);
            Assert.Equal(expected.DType, actual.DType);
            Assert.Equal(expected.Shape, actual.Shape);
            Assert.Equal(expected.Data, actual.Data);
        }
        Assert.Equal("{\"epoch\":1}", metadata["ledger"]);
        Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
    }

    [Fact]
    public void Should_follow_the_safetensors_layout_when_parsed_independently()
    {
        var path = Path.Combine(directory, "y.safetensors");
        SafeTensorsFile.Write(path, Entries, new Dictionary<string, string> { ["format"] = "pt" });
        var bytes = File.ReadAllBytes(path);

        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        Assert.Equal("pt", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());
        var ranges = header.RootElement.EnumerateObject()
            .Where(p => p.Name != "__metadata__")
            .Select(p => (p.Name, Offsets: p.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray()))
            .OrderBy(r => r.Offsets[0])
            .ToArray();
        var cursor = 0L;
        foreach (var (_, offsets) in ranges)
        {
            Assert.Equal(cursor, offsets[0]);
            cursor = offsets[1];
        }
        Assert.Equal(bytes.Length - 8 - headerLength, cursor);
        var weight = ranges.Single(r => r.Name == "b.weight").Offsets;
        var data = bytes.AsSpan((int)(8 + headerLength + weight[0]), (int)(weight[1] - weight[0]));
        Assert.Equal(6f, BinaryPrimitives.ReadSingleLittleEndian(data[20..]));
    }

    [Fact]
    public void Should_name_the_file_when_data_is_truncated()
    {
        var path = Path.Combine(directory, "z.safetensors");
        SafeTensorsFile.Write(path, Entries);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);

        var error = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(path));
        Assert.Contains("z.safetensors", error.Message);
    }

    [Fact]
    public void Should_reject_a_tensor_whose_bytes_do_not_match_its_shape_when_writing() =>
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Write(Path.Combine(directory, "w.safetensors"), [F32("bad", [4], 1, 2)]));
}
