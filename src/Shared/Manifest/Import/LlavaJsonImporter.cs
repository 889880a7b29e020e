using System.Text.Json;

namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Imports LLaVA's own instruction files (<c>llava_instruct_150k.json</c>, <c>blip_laion_cc_sbu_558k.json</c>, ...): a JSON
/// list of <c>{"id", "image", "conversations": [{"from": "human"|"gpt", "value"}, ...]}</c>, <c>image</c> relative to
/// an images folder. Each entry becomes a row: key = <c>id</c>, the image file's bytes embedded, caption = the first
/// answer (for the pretraining files, whose one answer is the caption, exactly the caption), conversation = the turns
/// as <see cref="Conversation.ToJson"/> writes them (placeholder moved to the start of the first question). The file is
/// streamed, one entry at a time. An entry that cannot become a row is left out, counted and named
/// (<see cref="LlavaImportSkip"/>), never fatal; only a file that is not a JSON list stops the import.
/// </summary>
public static class LlavaJsonImporter
{
    public static async Task<LlavaImportResult> ImportAsync(
        LlavaJsonImportOptions options, Action<LlavaImportSkip>? onSkip = null, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(options.JsonPath))
        {
            throw new ManifestException("LLaVA JSON file not found", options.JsonPath);
        }
        if (!Directory.Exists(options.ImagesDir))
        {
            throw new ManifestException("images folder not found", options.ImagesDir);
        }
        var images = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.ImagesDir)) + Path.DirectorySeparatorChar;
        var limits = options.Limits.Validated();
        var prefix = options.Split ?? "llava";
        ParquetManifestWriter.ReplaceFiles(options.OutDir, prefix);
        var writerOptions = new ParquetManifestWriterOptions
        {
            RowsPerGroup = options.RowsPerGroup,
            RowsPerFile = options.RowsPerFile,
            FilePrefix = prefix,
            HasSplit = options.Split is not null,
            HasConversation = true,
        };
        var skipped = new Dictionary<LlavaImportSkipReason, long>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var entry = 0L;
        await using var writer = new ParquetManifestWriter(options.OutDir, writerOptions);
        await using var json = File.OpenRead(options.JsonPath);
        try
        {
            await foreach (var element in JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(json, cancellationToken: cancellationToken))
            {
                var (row, skip) = ToRow(element, entry, images, limits, ids, options.Split);
                if (row is not null)
                {
                    ids.Add(row.Key);
                    await writer.AddAsync(row, cancellationToken);
                }
                else
                {
                    skipped[skip!.Reason] = skipped.GetValueOrDefault(skip.Reason) + 1;
                    onSkip?.Invoke(skip);
                }
                entry++;
            }
        }
        catch (JsonException e)
        {
            throw new ManifestException($"not a JSON list of LLaVA entries (after {entry} entries): {e.Message}", options.JsonPath, inner: e);
        }
        await writer.CompleteAsync(cancellationToken);
        return new LlavaImportResult(entry, writer.RowsWritten, writer.Files, skipped);
    }

    private static (ManifestRow? Row, LlavaImportSkip? Skip) ToRow(
        JsonElement element, long entry, string images, ManifestReadLimits limits, HashSet<string> ids, string? split)
    {
        LlavaImportSkip Skip(string? id, LlavaImportSkipReason reason, string detail) => new(entry, id, reason, detail);

        if (element.ValueKind != JsonValueKind.Object)
        {
            return (null, Skip(null, LlavaImportSkipReason.NotAnObject, $"a JSON {element.ValueKind.ToString().ToLowerInvariant()}"));
        }
        var id = element.TryGetProperty("id", out var idValue) ? idValue.ValueKind switch
        {
            JsonValueKind.String => idValue.GetString(),
            JsonValueKind.Number => idValue.GetRawText(),
            _ => null,
        } : null;
        if (string.IsNullOrEmpty(id))
        {
            return (null, Skip(null, LlavaImportSkipReason.MissingId, "no 'id' (a string or a number)"));
        }
        if (ids.Contains(id))
        {
            return (null, Skip(id, LlavaImportSkipReason.DuplicateId, "an earlier entry with this id was imported"));
        }
        if (!element.TryGetProperty("image", out var imageValue) || imageValue.ValueKind != JsonValueKind.String || imageValue.GetString() is not { Length: > 0 } image)
        {
            return (null, Skip(id, LlavaImportSkipReason.NoImage, "no 'image' path (a text-only entry)"));
        }
        if (!element.TryGetProperty("conversations", out var turns))
        {
            return (null, Skip(id, LlavaImportSkipReason.MalformedConversation, "no 'conversations'"));
        }
        Conversation conversation;
        try
        {
            conversation = Conversation.Parse(turns.GetRawText());
        }
        catch (ConversationFormatException e)
        {
            return (null, Skip(id, LlavaImportSkipReason.MalformedConversation, e.Message));
        }
        var (bytes, reason, detail) = ReadImage(images, image, limits);
        if (bytes is null)
        {
            return (null, Skip(id, reason, detail));
        }
        var caption = conversation.Exchanges[0].Answer;
        return (new ManifestRow(id, caption, bytes, Split: split) { Conversation = conversation }, null);
    }

    private static (byte[]? Bytes, LlavaImportSkipReason Reason, string Detail) ReadImage(string images, string relative, ManifestReadLimits limits)
    {
        var path = Path.GetFullPath(Path.Combine(images, relative));
        if (!path.StartsWith(images, StringComparison.Ordinal))
        {
            return (null, LlavaImportSkipReason.ImageOutsideFolder, $"'{relative}' resolves to {path}, outside {images}");
        }
        byte[] bytes;
        try
        {
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                return (null, LlavaImportSkipReason.ImageFileMissing, $"no file {path}");
            }
            if (file.Length > limits.MaxImageBytes)
            {
                return (null, LlavaImportSkipReason.ImageTooLarge, $"{path}: {file.Length} bytes, over the limit of {limits.MaxImageBytes}");
            }
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, LlavaImportSkipReason.ImageFileUnreadable, $"{path}: {e.Message}");
        }
        return ImageCheck.Check(bytes, limits.MaxImagePixels, out var refused) is { } reason
            ? (null, LlavaImportSkipReason.ImageUndecodable, $"{path}: {reason}: {refused}")
            : (bytes, default, "");
    }
}
