using System.Text.Json;
using MmCluster.Shared.Manifest;

namespace MmCluster.Cli.Commands;

/// <summary>The <c>inspect --json</c> object: one JSON object with files, row_groups, rows, bytes, columns, splits.</summary>
internal static class ManifestSummaryJson
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public static string Serialize(ManifestSummary summary, bool listFiles, ManifestVerification? verification = null, DuplicateKeyPolicy policy = DuplicateKeyPolicy.Refuse)
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
            ["column_mapping"] = summary.Mapping.Columns,
            ["label_column"] = summary.HasLabel ? summary.Mapping[ManifestSchema.Label] : null,
            ["label_rows"] = summary.LabelRows,
            ["conversation_column"] = summary.HasConversation,
            ["conversation_rows"] = summary.ConversationRows,
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
        if (verification is not null)
        {
            json["verify"] = Verify(verification, policy);
        }
        return JsonSerializer.Serialize(json, Options);
    }

    private static Dictionary<string, object?> Verify(ManifestVerification verification, DuplicateKeyPolicy policy) => new()
    {
        ["rows_read"] = verification.Stats.RowsYielded + verification.Stats.Skipped,
        ["rows_passed"] = verification.Stats.RowsYielded,
        ["rows_skipped"] = verification.SkippedRows,
        ["skipped_by_reason"] = verification.Stats.SkippedByReason
            .Where(kv => kv.Key != RowSkipReason.DuplicateKey).ToDictionary(kv => kv.Key.ToString(), kv => kv.Value),
        ["captions_cut"] = verification.Stats.CaptionsTruncated,
        ["rows_with_conversation"] = verification.Stats.RowsWithConversation,
        ["first_skipped"] = verification.FirstSkips.Select(s => new Dictionary<string, object?>
        {
            ["file"] = s.File, ["row_group"] = s.RowGroup, ["row"] = s.Row, ["key"] = s.Key, ["reason"] = s.Reason.ToString(), ["detail"] = s.Detail,
        }).ToList(),
        ["duplicate_keys"] = verification.DuplicateKeys,
        ["first_duplicates"] = verification.FirstDuplicates.Select(d => new Dictionary<string, object?>
        {
            ["key"] = d.Key, ["file"] = d.File, ["row_group"] = d.RowGroup, ["row"] = d.Row, ["first_file"] = d.FirstFile, ["first_row"] = d.FirstRow,
        }).ToList(),
        ["refused_files"] = verification.RefusedFiles.Select(f => new Dictionary<string, object?> { ["file"] = f.File, ["message"] = f.Message }).ToList(),
        ["duplicate_keys_policy"] = policy == DuplicateKeyPolicy.Refuse ? "refuse" : "skip",
        ["run_refuses"] = verification.RunRefuses(policy),
    };
}
