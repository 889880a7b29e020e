using Parquet.Schema;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// The manifest columns found in one file's schema, checked for presence and type. Holds the file's own
/// <see cref="DataField"/>s, which is what Parquet.Net needs to read a column.
/// </summary>
internal sealed class ManifestFileSchema
{
    private ManifestFileSchema(DataField key, DataField caption, DataField image, ManifestImageStorage storage, DataField? label, DataField? split, DataField? conversation, IReadOnlyList<ManifestColumn> columns)
    {
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

    public IReadOnlyList<ManifestColumn> Columns { get; }

    /// <summary>Checks one file's schema; throws <see cref="ManifestException"/> naming the file and column when it does not fit.</summary>
    public static ManifestFileSchema From(ParquetSchema schema, string file)
    {
        var fields = schema.GetDataFields().ToDictionary(f => f.Path.ToString(), StringComparer.Ordinal);
        var columns = fields.Values.Select(f => new ManifestColumn(f.Path.ToString(), TypeName(f), f.IsNullable)).ToList();
        var key = Require(fields, ManifestSchema.Key, typeof(string), file);
        var caption = Require(fields, ManifestSchema.Caption, typeof(string), file);
        DataField image;
        ManifestImageStorage storage;
        if (fields.ContainsKey(ManifestSchema.Image))
        {
            image = Require(fields, ManifestSchema.Image, typeof(byte[]), file);
            storage = ManifestImageStorage.Embedded;
        }
        else if (fields.ContainsKey(ManifestSchema.ImagePath))
        {
            image = Require(fields, ManifestSchema.ImagePath, typeof(string), file);
            storage = ManifestImageStorage.ByPath;
        }
        else
        {
            throw new ManifestException(
                $"missing column '{ManifestSchema.Image}' (binary) or '{ManifestSchema.ImagePath}' (string); columns are: {string.Join(", ", fields.Keys)}", file);
        }
        var label = fields.ContainsKey(ManifestSchema.Label) ? Require(fields, ManifestSchema.Label, typeof(int), file, typeof(long)) : null;
        var split = fields.ContainsKey(ManifestSchema.Split) ? Require(fields, ManifestSchema.Split, typeof(string), file) : null;
        var conversation = fields.ContainsKey(ManifestSchema.Conversation) ? Require(fields, ManifestSchema.Conversation, typeof(string), file) : null;
        return new ManifestFileSchema(key, caption, image, storage, label, split, conversation, columns);
    }

    private static DataField Require(Dictionary<string, DataField> fields, string name, Type type, string file, Type? alternative = null)
    {
        if (!fields.TryGetValue(name, out var field))
        {
            throw new ManifestException($"missing column '{name}' ({TypeName(type)}); columns are: {string.Join(", ", fields.Keys)}", file);
        }
        var actual = TypeName(field);
        if (actual != TypeName(type) && (alternative is null || actual != TypeName(alternative)))
        {
            var expected = alternative is null ? TypeName(type) : $"{TypeName(type)} or {TypeName(alternative)}";
            throw new ManifestException($"column '{name}' has type {TypeName(field)}, expected {expected}", file);
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
