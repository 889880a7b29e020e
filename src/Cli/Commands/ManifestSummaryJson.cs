using System.Text.Json;
using MmCluster.Shared.Manifest;

namespace MmCluster.Cli.Commands;

/// <summary>The <c>inspect --json</c> object: one JSON object with files, row_groups, rows, bytes, columns, splits.</summary>
internal static class ManifestSummaryJson
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public static string Serialize(ManifestSummary summary, bool listFiles)
    {
        var json = new Dictionary<string, object?>
        {
            ["folder"] = summary.Folder,
            ["files"] = summary.Files.Count,
            ["row_groups"] = summary.RowGroupCount,
            ["rows"] = summary.Rows,
            ["bytes"] = summary.Bytes,
            ["images"] = summary.Storage == ManifestImageStorage.Embedded ? "embedded" : "by_path",
            ["columns"] = summary.Columns.Select(c => new Dictionary<string, object> { ["name"] = c.Name, ["type"] = c.Type, ["nullable"] = c.Nullable }).ToList(),
            ["splits"] = summary.RowsBySplit.ToDictionary(s => s.Key.Length == 0 ? "unsplit" : s.Key, s => s.Value),
        };
        if (listFiles)
        {
            json["file_list"] = summary.Files.Select(f => new Dictionary<string, object?>
            {
                ["file"] = f.File,
                ["split"] = f.Split,
                ["rows"] = f.Rows,
                ["bytes"] = f.Bytes,
                ["row_group_rows"] = f.RowGroups.Select(g => g.Rows).ToList(),
            }).ToList();
        }
        return JsonSerializer.Serialize(json, Options);
    }
}
