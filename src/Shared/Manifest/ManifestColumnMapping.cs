namespace MmCluster.Shared.Manifest;

/// <summary>
/// Which column of a file holds each manifest column, so that Parquet written by other tools is read in place: for
/// img2dataset's parquet output <c>image: jpg, caption: txt, key: key</c>. It comes from the run spec's
/// <c>manifest.columns</c> (or <c>manifest inspect --columns</c>) and reaches every reader: the coordinator's footer
/// check and planning, and the workers' <see cref="ParquetManifestReader"/>. A column not mapped keeps its own name.
/// </summary>
public sealed class ManifestColumnMapping
{
    /// <summary>The optional <c>url</c> column: only read to say why a row without image bytes is skipped (this product does not download).</summary>
    public const string Url = "url";

    /// <summary>The manifest columns a mapping may name.</summary>
    public static readonly IReadOnlyList<string> Mappable =
        [ManifestSchema.Key, ManifestSchema.Caption, ManifestSchema.Image, ManifestSchema.ImagePath, ManifestSchema.Label, ManifestSchema.Split, Url];

    public static readonly ManifestColumnMapping None = new(new Dictionary<string, string>());

    /// <param name="columns">Manifest column -> the files' column (names from <see cref="Mappable"/>; values not empty).</param>
    public ManifestColumnMapping(IReadOnlyDictionary<string, string> columns)
    {
        foreach (var (column, source) in columns)
        {
            if (!Mappable.Contains(column))
            {
                throw new ArgumentException($"'{column}' is not a manifest column that can be mapped (one of {string.Join(", ", Mappable)})", nameof(columns));
            }
            if (string.IsNullOrWhiteSpace(source))
            {
                throw new ArgumentException($"the mapping of '{column}' names no column", nameof(columns));
            }
        }
        Columns = Mappable.Where(columns.ContainsKey).ToDictionary(c => c, c => columns[c], StringComparer.Ordinal);
    }

    /// <summary>The mapped columns, in <see cref="Mappable"/> order.</summary>
    public IReadOnlyDictionary<string, string> Columns { get; }

    /// <summary>True when every column is read under its own name.</summary>
    public bool IsNone => Columns.All(kv => kv.Key == kv.Value);

    /// <summary>The files' name for manifest column <paramref name="column"/>.</summary>
    public string this[string column] => Columns.TryGetValue(column, out var source) ? source : column;

    /// <summary>
    /// Parses <c>image=jpg,caption=txt,key=key</c> (what <c>manifest inspect --columns</c> takes); throws
    /// <see cref="ArgumentException"/> naming the part that is not <c>column=name</c>.
    /// </summary>
    public static ManifestColumnMapping Parse(string text)
    {
        var columns = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=');
            if (equals <= 0 || !columns.TryAdd(part[..equals].Trim(), part[(equals + 1)..].Trim()))
            {
                throw new ArgumentException($"column mapping '{text}': '{part}' is not column=name, or names a column twice (e.g. image=jpg,caption=txt,key=key)");
            }
        }
        return new ManifestColumnMapping(columns);
    }

    /// <summary>How a message names manifest column <paramref name="column"/>: <c>'jpg' (manifest.columns.image)</c>, or <c>'image'</c> when not mapped.</summary>
    public string Describe(string column) => this[column] == column ? $"'{column}'" : $"'{this[column]}' (manifest.columns.{column})";

    /// <summary><c>image: jpg, caption: txt, key: key</c>, or <c>none</c>.</summary>
    public override string ToString() => IsNone ? "none" : string.Join(", ", Columns.Select(kv => $"{kv.Key}: {kv.Value}"));
}
