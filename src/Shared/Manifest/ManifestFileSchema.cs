using Parquet.Schema;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// The manifest columns found in one file's schema, checked for presence and type. Holds the file's own
/// <see cref="DataField"/>s, which is what Parquet.Net needs to read a column.
/// </summary>
internal sealed class ManifestFileSchema
{
    private ManifestFileSchema(DataField key, DataField caption, DataField image, ManifestImageStorage storage, DataField? label, DataField? split, DataField? conversation, DataField? url, IReadOnlyList<ManifestColumn> columns)
    {
        Url = url;
        Key = key;
        Caption = caption;
        Image = image;
        Storage = storage;
        Label = label;
        Split = split;
        Conversation = conversation;
        Columns = columns;
    }

    public DataField Key { get; }

    public DataField Caption { get; }

    /// <summary>The <c>image</c> (binary) or <c>image_path</c> (string) column, per <see cref="Storage"/>.</summary>
    public DataField Image { get; }

    public ManifestImageStorage Storage { get; }

    public DataField? Label { get; }

    public DataField? Split { get; }

    /// <summary>The optional <c>conversation</c> column (string, a <see cref="Manifest.Conversation"/>'s JSON).</summary>
    public DataField? Conversation { get; }

    /// <summary>The optional <c>url</c> column (img2dataset's): read only to say why a row without image bytes is skipped.</summary>
    public DataField? Url { get; }

    public IReadOnlyList<ManifestColumn> Columns { get; }

    /// <summary>
    /// Checks one file's schema, reading each manifest column under the name <paramref name="mapping"/> gives it; throws
    /// <see cref="ManifestException"/> naming the file and column when it does not fit.
    /// </summary>
    public static ManifestFileSchema From(ParquetSchema schema, string file, ManifestColumnMapping? mapping = null)
    {
        mapping ??= ManifestColumnMapping.None;
        var fields = schema.GetDataFields().ToDictionary(f => f.Path.ToString(), StringComparer.Ordinal);
        var columns = fields.Values.Select(f => new ManifestColumn(f.Path.ToString(), TypeName(f), f.IsNullable)).ToList();
        // An optional column is read when the file has it; one the mapping names must be there (label: cls on files without cls is a mistake).
        DataField? Optional(string column, Type type, Type? alternative = null) =>
            fields.ContainsKey(mapping[column]) || mapping.Columns.ContainsKey(column) ? Require(fields, mapping, column, type, file, alternative) : null;

        var key = Require(fields, mapping, ManifestSchema.Key, typeof(string), file);
        var caption = Require(fields, mapping, ManifestSchema.Caption, typeof(string), file);
        DataField image;
        ManifestImageStorage storage;
        if (fields.ContainsKey(mapping[ManifestSchema.Image]))
        {
            image = Require(fields, mapping, ManifestSchema.Image, typeof(byte[]), file);
            storage = ManifestImageStorage.Embedded;
        }
        else if (fields.ContainsKey(mapping[ManifestSchema.ImagePath]))
        {
            image = Require(fields, mapping, ManifestSchema.ImagePath, typeof(string), file);
            storage = ManifestImageStorage.ByPath;
        }
        else
        {
            var urls = fields.ContainsKey(mapping[ManifestColumnMapping.Url])
                ? $"; it has {mapping.Describe(ManifestColumnMapping.Url)}, but mmcluster does not download images: fetch them first (img2dataset --output_format parquet or webdataset)"
                : "";
            throw new ManifestException(
                $"missing column {mapping.Describe(ManifestSchema.Image)} (binary) or {mapping.Describe(ManifestSchema.ImagePath)} (string); columns are: {string.Join(", ", fields.Keys)}{urls}", file);
        }
        var label = Optional(ManifestSchema.Label, typeof(int), typeof(long));
        var split = Optional(ManifestSchema.Split, typeof(string));
        var conversation = Optional(ManifestSchema.Conversation, typeof(string));
        var url = Optional(ManifestColumnMapping.Url, typeof(string));
        return new ManifestFileSchema(key, caption, image, storage, label, split, conversation, url, columns);
    }

    private static DataField Require(Dictionary<string, DataField> fields, ManifestColumnMapping mapping, string column, Type type, string file, Type? alternative = null)
    {
        if (!fields.TryGetValue(mapping[column], out var field))
        {
            var expected = alternative is null ? TypeName(type) : $"{TypeName(type)} or {TypeName(alternative)}";
            throw new ManifestException($"missing column {mapping.Describe(column)} ({expected}); columns are: {string.Join(", ", fields.Keys)}", file);
        }
        var actual = TypeName(field);
        if (actual != TypeName(type) && (alternative is null || actual != TypeName(alternative)))
        {
            var expected = alternative is null ? TypeName(type) : $"{TypeName(type)} or {TypeName(alternative)}";
            throw new ManifestException($"column {mapping.Describe(column)} has type {TypeName(field)}, expected {expected}", file);
        }
        return field;
    }

    private static string TypeName(DataField field) => field.IsArray ? $"list<{TypeName(field.ClrType)}>" : TypeName(field.ClrType);

    private static string TypeName(Type type) => type switch
    {
        _ when type == typeof(string) || type == typeof(ReadOnlyMemory<char>) => "string",
        _ when type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) => "binary",
        _ when type == typeof(int) => "int32",
        _ when type == typeof(long) => "int64",
        _ when type == typeof(float) => "float",
        _ when type == typeof(double) => "double",
        _ when type == typeof(bool) => "boolean",
        _ => type.Name,
    };
}
