using System.Text;
using System.Text.Json;

namespace MmCluster.Worker.Checkpoints;

/// <summary>
/// The safetensors format (huggingface/safetensors, docs "Format") in pure C#, so checkpoints load in PyTorch with
/// <c>safetensors.torch.load_file</c> without conversion: an 8-byte little-endian header length N, N bytes of JSON
/// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}</c>, padded with spaces
/// to a multiple of 8), then the tensors' raw little-endian bytes, contiguous, offsets relative to the end of the header.
/// Writes go to a temporary file in the same directory, flushed, then renamed over the target (atomic on POSIX).
/// </summary>
public static class SafeTensorsFile
{
    public const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4, ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    public static int ElementSize(string dtype) =>
        ElementSizes.TryGetValue(dtype, out var size) ? size : throw new ArgumentException($"unknown safetensors dtype '{dtype}'");

    public static void Write(string path, IEnumerable<SafeTensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        EnsureLittleEndian();
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
        var header = BuildHeader(ordered, metadata);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BitConverter.TryWriteBytes(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var tensor in ordered)
                {
                    stream.Write(tensor.Data);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Reads and validates a whole file: every entry's bytes, and the metadata.</summary>
    public static (IReadOnlyList<SafeTensorEntry> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        EnsureLittleEndian();
        var bytes = File.ReadAllBytes(path);
        var header = ParseHeader(bytes, path);
        var dataStart = 8 + header.HeaderLength;
        var tensors = header.Entries
            .Select(e => new SafeTensorEntry(e.Name, e.DType, e.Shape, bytes.AsSpan((int)(dataStart + e.Begin), (int)(e.End - e.Begin)).ToArray()))
            .ToArray();
        return (tensors, header.Metadata);
    }

    /// <summary>
    /// Parses and checks the header against the file: known dtypes, byte ranges matching shapes, and data ranges that are
    /// sorted, contiguous from 0 and cover the data section exactly (what the reference implementation validates).
    /// </summary>
    public static SafeTensorsHeader ParseHeader(ReadOnlySpan<byte> file, string source = "safetensors")
    {
        if (file.Length < 8)
        {
            throw new InvalidDataException($"{source}: {file.Length} bytes, too short for a safetensors header length");
        }
        var headerLength = (long)BitConverter.ToUInt64(file[..8]);
        if (headerLength > MaxHeaderBytes || 8 + headerLength > file.Length)
        {
            throw new InvalidDataException($"{source}: header length {headerLength} does not fit a file of {file.Length} bytes");
        }
        using var json = ParseJson(file.Slice(8, (int)headerLength), source);
        var entries = new List<SafeTensorsHeader.Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in json.RootElement.EnumerateObject())
        {
            if (property.Name == MetadataKey)
            {
                foreach (var item in property.Value.EnumerateObject())
                {
                    metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                        ? item.Value.GetString()!
                        : throw new InvalidDataException($"{source}: metadata '{item.Name}' is not a string");
                }
                continue;
            }
            entries.Add(ParseEntry(property, source));
        }
        var dataLength = file.Length - 8 - headerLength;
        var cursor = 0L;
        foreach (var entry in entries.OrderBy(e => e.Begin))
        {
            if (entry.Begin != cursor)
            {
                throw new InvalidDataException($"{source}: tensor '{entry.Name}' starts at {entry.Begin}, expected {cursor} (data ranges must be contiguous)");
            }
            cursor = entry.End;
        }
        if (cursor != dataLength)
        {
            throw new InvalidDataException($"{source}: tensors cover {cursor} data bytes, the file has {dataLength}");
        }
        return new SafeTensorsHeader(headerLength, entries, metadata);
    }

    private static JsonDocument ParseJson(ReadOnlySpan<byte> header, string source)
    {
        try
        {
            return JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source}: header is not valid JSON: {ex.Message}", ex);
        }
    }

    private static SafeTensorsHeader.Entry ParseEntry(JsonProperty property, string source)
    {
        var name = property.Name;
        try
        {
            var dtype = property.Value.GetProperty("dtype").GetString()!;
            var shape = property.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || shape.Any(d => d < 0))
            {
                throw new InvalidDataException($"{source}: tensor '{name}' has invalid shape or data_offsets");
            }
            var expected = shape.Aggregate(1L, (a, d) => a * d) * ElementSize(dtype);
            if (offsets[1] - offsets[0] != expected)
            {
                throw new InvalidDataException($"{source}: tensor '{name}' ({dtype} [{string.Join(", ", shape)}]) needs {expected} bytes, data_offsets span {offsets[1] - offsets[0]}");
            }
            return new SafeTensorsHeader.Entry(name, dtype, shape, offsets[0], offsets[1]);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: tensor '{name}': {ex.Message}", ex);
        }
    }

    private static byte[] BuildHeader(IReadOnlyList<SafeTensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            var offset = 0L;
            foreach (var tensor in tensors)
            {
                if (tensor.Name == MetadataKey || tensor.ElementCount * ElementSize(tensor.DType) != tensor.Data.Length)
                {
                    throw new ArgumentException($"tensor '{tensor.Name}': {tensor.Data.Length} bytes do not match {tensor.DType} [{string.Join(", ", tensor.Shape)}]");
                }
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.DType);
                writer.WriteStartArray("shape");
                foreach (var d in tensor.Shape)
                {
                    writer.WriteNumberValue(d);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + tensor.Data.Length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += tensor.Data.Length;
            }
            writer.WriteEndObject();
        }
        var padding = (8 - (int)(buffer.Length % 8)) % 8;   // the reference writer aligns the data section to 8 bytes
        buffer.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        return buffer.ToArray();
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors data is little-endian; big-endian hosts are not supported");
        }
    }
}
